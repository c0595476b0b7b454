// Persistence of webhook endpoints and their delivery state (Prisma). No rules here.
import type { Db } from '../../platform/db.ts';

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

type Stored = Omit<WebhookState, 'types' | 'cursor' | 'delivered' | 'failedAttempts' | 'abandoned'> & {
  types: string | null;
  cursor: bigint;
  delivered: bigint;
  failedAttempts: bigint;
  abandoned: bigint;
};

function toState(row: Stored): WebhookState {
  return {
    ...row,
    types: row.types === null ? null : (JSON.parse(row.types) as string[]),
    cursor: Number(row.cursor),
    delivered: Number(row.delivered),
    failedAttempts: Number(row.failedAttempts),
    abandoned: Number(row.abandoned),
  };
}

export function createWebhooksStore(db: Db) {
  return {
    async insert(row: WebhookRow): Promise<void> {
      await db.webhook.create({ data: { ...row, types: row.types === null ? null : JSON.stringify(row.types), cursor: BigInt(row.cursor) } });
    },

    async count(applicationId: string): Promise<number> {
      return db.webhook.count({ where: { applicationId } });
    },

    /** The application's endpoints (every application's when null), oldest first. */
    async list(applicationId: string | null): Promise<WebhookState[]> {
      const rows = await db.webhook.findMany({ where: applicationId === null ? {} : { applicationId }, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] });
      return rows.map(toState);
    },

    async remove(applicationId: string, id: string): Promise<boolean> {
      const { count } = await db.webhook.deleteMany({ where: { applicationId, id } });
      return count === 1;
    },

    /** Records deliveries; the cursor only moves forward. False when the endpoint was removed. */
    async report(id: string, report: DeliveryReport): Promise<boolean> {
      const { count } = await db.webhook.updateMany({
        where: { id },
        data: {
          delivered: { increment: report.delivered },
          failedAttempts: { increment: report.failedAttempts },
          abandoned: { increment: report.abandoned },
          ...(report.lastSuccessAt ? { lastSuccessAt: report.lastSuccessAt } : {}),
          ...(report.lastError ? { lastErrorAt: report.lastError.at, lastError: report.lastError.message } : {}),
        },
      });
      if (count === 1) await db.webhook.updateMany({ where: { id, cursor: { lt: BigInt(report.cursor) } }, data: { cursor: BigInt(report.cursor) } });
      return count === 1;
    },

    /** Events after the cursor not yet delivered, by the endpoint's types (for `webhook list`). */
    async pending(applicationId: string, cursor: number, types: string[] | null): Promise<number> {
      return db.event.count({ where: { applicationId, seq: { gt: BigInt(cursor) }, ...(types === null ? {} : { type: { in: types } }) } });
    },
  };
}

export type WebhooksStore = ReturnType<typeof createWebhooksStore>;
