// Persistence of webhook endpoints and their delivery state. No rules here.
import { sql } from 'kysely';
import type { Db } from '../../platform/db.ts';
import { readOptionalTime, readTime } from '../../platform/dialect.ts';

export interface WebhookRow {
  id: string;
  applicationId: string;
  url: string;
  /** Null: every type. */
  types: string[] | null;
  secretSealed: string;
  createdAt: Date;
  cursor: number;
}

export interface WebhookState extends WebhookRow {
  delivered: number;
  failedAttempts: number;
  abandoned: number;
  lastSuccessAt: Date | null;
  lastErrorAt: Date | null;
  lastError: string | null;
}

/** What a dispatcher reports after deliveries (counters are increments). */
export interface DeliveryReport {
  cursor: number;
  delivered: number;
  failedAttempts: number;
  abandoned: number;
  lastSuccessAt: Date | null;
  lastError: { at: Date; message: string } | null;
}

interface Stored {
  id: string;
  applicationId: string;
  url: string;
  types: string | null;
  secretSealed: string;
  createdAt: Date | string;
  cursor: number;
  delivered: number;
  failedAttempts: number;
  abandoned: number;
  lastSuccessAt: Date | string | null;
  lastErrorAt: Date | string | null;
  lastError: string | null;
}

function toState(row: Stored): WebhookState {
  return {
    ...row,
    types: row.types === null ? null : (JSON.parse(row.types) as string[]),
    createdAt: readTime(row.createdAt),
    cursor: Number(row.cursor),
    delivered: Number(row.delivered),
    failedAttempts: Number(row.failedAttempts),
    abandoned: Number(row.abandoned),
    lastSuccessAt: readOptionalTime(row.lastSuccessAt),
    lastErrorAt: readOptionalTime(row.lastErrorAt),
  };
}

export function createWebhooksStore(db: Db) {
  const { query, dialect } = db;
  return {
    async insert(row: WebhookRow): Promise<void> {
      await query
        .insertInto('Webhook')
        .values({ ...row, types: row.types === null ? null : JSON.stringify(row.types), createdAt: dialect.time(row.createdAt) })
        .execute();
    },

    async count(applicationId: string): Promise<number> {
      const [row] = await db.rows<{ count: number }>(
        query
          .selectFrom('Webhook')
          .select((eb) => eb.fn.countAll<number>().as('count'))
          .where('applicationId', '=', applicationId),
      );
      return Number(row?.count ?? 0);
    },

    /** The application's endpoints (every application's when null), oldest first. */
    async list(applicationId: string | null): Promise<WebhookState[]> {
      let select = query.selectFrom('Webhook').selectAll();
      if (applicationId !== null) select = select.where('applicationId', '=', applicationId);
      return (await db.rows<Stored>(select.orderBy('createdAt').orderBy('id'))).map(toState);
    },

    async remove(applicationId: string, id: string): Promise<boolean> {
      const removed = await query.deleteFrom('Webhook').where('applicationId', '=', applicationId).where('id', '=', id).executeTakeFirst();
      return removed.numDeletedRows === 1n;
    },

    /** Records deliveries; the cursor only moves forward. False when the endpoint was removed. */
    async report(id: string, report: DeliveryReport): Promise<boolean> {
      const updated = await query
        .updateTable('Webhook')
        .set({
          delivered: sql`"delivered" + ${report.delivered}`,
          failedAttempts: sql`"failedAttempts" + ${report.failedAttempts}`,
          abandoned: sql`"abandoned" + ${report.abandoned}`,
          cursor: sql`CASE WHEN "cursor" < ${report.cursor} THEN CAST(${report.cursor} AS BIGINT) ELSE "cursor" END`,
          ...(report.lastSuccessAt ? { lastSuccessAt: dialect.time(report.lastSuccessAt) } : {}),
          ...(report.lastError ? { lastErrorAt: dialect.time(report.lastError.at), lastError: report.lastError.message } : {}),
        })
        .where('id', '=', id)
        .executeTakeFirst();
      return updated.numUpdatedRows === 1n;
    },

    /** Events after the cursor not yet delivered, by the endpoint's types (for `webhook list`). */
    async pending(applicationId: string, cursor: number, types: string[] | null): Promise<number> {
      let select = query
        .selectFrom('Event')
        .select((eb) => eb.fn.countAll<number>().as('count'))
        .where('applicationId', '=', applicationId)
        .where('seq', '>', cursor);
      if (types !== null) select = types.length === 0 ? select.where(sql<boolean>`false`) : select.where('type', 'in', types);
      const [row] = await db.rows<{ count: number }>(select);
      return Number(row?.count ?? 0);
    },
  };
}

export type WebhooksStore = ReturnType<typeof createWebhooksStore>;
