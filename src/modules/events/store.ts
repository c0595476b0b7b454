// Persistence of the event log (docs/events.md). Appends run inside the caller's transaction; seq comes
// from the application's EventSequence row, updated first-come by an upsert whose row lock is held
// to the commit. So on PostgreSQL as on SQLite (one writer), an event with seq n is visible only
// once every event before it is: a reader that has seen n may resume after n and miss nothing.
import { sql, type CompiledQuery } from 'kysely';
import type { Db, DbTransaction } from '../../platform/db.ts';
import type { EventType } from './types.ts';

export interface EventDraft {
  type: EventType;
  /** The user the event is about; null for application-level events. */
  userId: string | null;
  data: Record<string, unknown>;
}

export interface LoggedEvent {
  seq: number;
  applicationId: string;
  type: EventType;
  userId: string | null;
  occurredAtMs: number;
  /** The event's wire JSON (docs/events.md), built once and shared by every stream and webhook. */
  json: string;
}

interface EventRow {
  seq: number;
  type: string;
  userId: string | null;
  occurredAtMs: number;
  data: string;
}

/** `{"id","type","applicationId","userId"?,"occurredAtMs","data"}`; `data` is already JSON text. */
export function eventJson(seq: number, applicationId: string, type: string, userId: string | null, occurredAtMs: number, data: string): string {
  const user = userId === null ? '' : `,"userId":${JSON.stringify(userId)}`;
  return `{"id":"${seq}","type":${JSON.stringify(type)},"applicationId":${JSON.stringify(applicationId)}${user},"occurredAtMs":${occurredAtMs},"data":${data}}`;
}

function toEvent(applicationId: string, row: EventRow): LoggedEvent {
  const seq = Number(row.seq);
  const occurredAtMs = Number(row.occurredAtMs);
  return {
    seq,
    applicationId,
    type: row.type as EventType,
    userId: row.userId,
    occurredAtMs,
    json: eventJson(seq, applicationId, row.type, row.userId, occurredAtMs, row.data),
  };
}

export interface EventFilter {
  /** Only these types (null: every type). */
  types: readonly string[] | null;
  /** Only events about these users (null: any, including application-level events). */
  userIds: readonly string[] | null;
}

export const NO_FILTER: EventFilter = { types: null, userIds: null };

/**
 * The two statements that append `drafts` to an application's log: move its sequence row by the
 * number of drafts (the row stays locked to the commit), then insert the rows numbered from it.
 * Run in this order inside one transaction: the caller's, or a batch (db.batch).
 */
function appendStatements(db: Db, applicationId: string, drafts: EventDraft[], occurredAtMs: number) {
  const count = drafts.length;
  const json = JSON.stringify(drafts.map((draft) => ({ t: draft.type, u: draft.userId, d: JSON.stringify(draft.data) })));
  return [
    db.query
      .insertInto('EventSequence')
      .values({ applicationId, last: count })
      .onConflict((oc) => oc.column('applicationId').doUpdateSet({ last: sql`"EventSequence"."last" + ${count}` }))
      .compile(),
    sql`INSERT INTO "Event" ("applicationId", "seq", "type", "userId", "occurredAtMs", "data")
      SELECT ${applicationId}, (SELECT "last" FROM "EventSequence" WHERE "applicationId" = ${applicationId}) - ${count} + v."ord" + 1,
        v."t", v."u", CAST(${occurredAtMs} AS BIGINT), v."d"
      FROM ${db.dialect.jsonRows(json, ['t', 'u', 'd'])} v`.compile(db.query),
  ];
}

export function createEventsStore(db: Db) {
  const { query } = db;
  return {
    /**
     * Appends events of several applications in one transaction of its own: a batch of plain
     * statements (`before` first: state that commits with the events; then each application's
     * sequence bump and its rows numbered from it).
     */
    async appendBatch(groups: Map<string, EventDraft[]>, occurredAtMs: number, before: CompiledQuery[] = []): Promise<void> {
      const statements = [
        ...before,
        ...[...groups]
          .filter(([, drafts]) => drafts.length > 0)
          .flatMap(([applicationId, drafts]) => appendStatements(db, applicationId, drafts, occurredAtMs)),
      ];
      if (statements.length > 0) await db.batch(statements);
    },

    /** Appends inside the caller's transaction `tx` (a change and its events commit together). */
    async append(tx: DbTransaction, applicationId: string, drafts: EventDraft[], occurredAtMs: number): Promise<void> {
      if (drafts.length === 0) return;
      for (const statement of appendStatements(db, applicationId, drafts, occurredAtMs)) await tx.executeQuery(statement);
    },

    /** Events after `after` in seq order, at most `limit`, narrowed by `filter`. */
    async readAfter(applicationId: string, after: number, limit: number, filter: EventFilter = NO_FILTER): Promise<LoggedEvent[]> {
      let select = query
        .selectFrom('Event')
        .select(['seq', 'type', 'userId', 'occurredAtMs', 'data'])
        .where('applicationId', '=', applicationId)
        .where('seq', '>', after);
      if (filter.types !== null) select = filter.types.length === 0 ? select.where(sql<boolean>`false`) : select.where('type', 'in', filter.types);
      if (filter.userIds !== null) select = filter.userIds.length === 0 ? select.where(sql<boolean>`false`) : select.where('userId', 'in', filter.userIds);
      const rows = await db.rows<EventRow>(select.orderBy('seq').limit(limit));
      return rows.map((row) => toEvent(applicationId, row));
    },

    /** The last seq handed out (every event up to it is committed), and the highest seq pruned. */
    async position(applicationId: string): Promise<{ last: number; prunedThrough: number }> {
      const [row] = await db.rows<{ last: number; prunedThrough: number }>(
        query.selectFrom('EventSequence').select(['last', 'prunedThrough']).where('applicationId', '=', applicationId),
      );
      return { last: Number(row?.last ?? 0), prunedThrough: Number(row?.prunedThrough ?? 0) };
    },

    /**
     * Removes, at most `batch` at a time, the events that occurred before `cutoffMs`; the pruned
     * mark moves first, in the same transaction. Returns how many were removed.
     */
    async prune(applicationId: string, cutoffMs: number, batch: number): Promise<number> {
      return db.transaction(async (tx) => {
        const rows = await tx
          .selectFrom('Event')
          .select('seq')
          .where('applicationId', '=', applicationId)
          .where('occurredAtMs', '<', cutoffMs)
          .orderBy('seq')
          .limit(batch)
          .execute();
        const through = rows.at(-1);
        if (through === undefined) return 0;
        const seq = Number(through.seq);
        await tx.updateTable('EventSequence').set({ prunedThrough: seq }).where('applicationId', '=', applicationId).where('prunedThrough', '<', seq).execute();
        const removed = await tx.deleteFrom('Event').where('applicationId', '=', applicationId).where('seq', '<=', seq).executeTakeFirst();
        return Number(removed.numDeletedRows);
      });
    },

    /** Applications that have events (the pruner's work list). */
    async applicationsWithEvents(): Promise<string[]> {
      const rows = await db.rows<{ applicationId: string }>(query.selectFrom('EventSequence').select('applicationId'));
      return rows.map((row) => row.applicationId);
    },
  };
}

export type EventsStore = ReturnType<typeof createEventsStore>;
