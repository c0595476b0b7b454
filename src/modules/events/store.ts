// Persistence of the event log (SPEC §8). Appends run inside the caller's transaction; seq comes
// from the application's EventSequence row, updated first-come by an upsert whose row lock is held
// to the commit. So on PostgreSQL as on SQLite (one writer), an event with seq n is visible only
// once every event before it is: a reader that has seen n may resume after n and miss nothing.
import { Prisma, type Db, type DbTransaction } from '../../platform/db.ts';
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
  /** The event's wire JSON (SPEC §8), built once and shared by every stream and webhook. */
  json: string;
}

interface EventRow {
  seq: bigint | number;
  type: string;
  userId: string | null;
  occurredAtMs: bigint | number;
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
  return { seq, applicationId, type: row.type as EventType, userId: row.userId, occurredAtMs, json: eventJson(seq, applicationId, row.type, row.userId, occurredAtMs, row.data) };
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
 * Run in this order inside one transaction: the caller's (awaited one by one) or a batch.
 */
function appendStatements(client: Db | DbTransaction, provider: 'sqlite' | 'postgresql', applicationId: string, drafts: EventDraft[], occurredAtMs: number) {
  const count = drafts.length;
  const json = JSON.stringify(drafts.map((draft) => ({ t: draft.type, u: draft.userId, d: JSON.stringify(draft.data) })));
  const first = Prisma.sql`(SELECT "last" FROM "EventSequence" WHERE "applicationId" = ${applicationId}) - ${count}`;
  return [
    client.$executeRaw`INSERT INTO "EventSequence" ("applicationId", "last") VALUES (${applicationId}, ${count})
      ON CONFLICT ("applicationId") DO UPDATE SET "last" = "EventSequence"."last" + ${count}`,
    provider === 'postgresql'
      ? client.$executeRaw`INSERT INTO "Event" ("applicationId", "seq", "type", "userId", "occurredAtMs", "data")
          SELECT ${applicationId}, ${first} + j.ord, j.value->>'t', j.value->>'u', ${occurredAtMs}::bigint, j.value->>'d'
          FROM json_array_elements(${json}::json) WITH ORDINALITY AS j(value, ord)`
      : client.$executeRaw`INSERT INTO "Event" ("applicationId", "seq", "type", "userId", "occurredAtMs", "data")
          SELECT ${applicationId}, ${first} + j.key + 1, json_extract(j.value, '$.t'), json_extract(j.value, '$.u'), ${occurredAtMs}, json_extract(j.value, '$.d')
          FROM json_each(${json}) j`,
  ] as const;
}

export function createEventsStore(db: Db, provider: 'sqlite' | 'postgresql') {
  return {
    /**
     * Appends events of several applications in one transaction of its own: a batch of plain
     * statements (each application's sequence bump, then its rows numbered from it), which costs
     * about half of an interactive transaction (measured: 0.85 vs 1.4 ms of CPU on SQLite).
     */
    async appendBatch(groups: Map<string, EventDraft[]>, occurredAtMs: number): Promise<void> {
      const statements = [...groups].filter(([, drafts]) => drafts.length > 0).flatMap(([applicationId, drafts]) => appendStatements(db, provider, applicationId, drafts, occurredAtMs));
      if (statements.length > 0) await db.$transaction([...statements]);
    },

    /** Appends inside the caller's transaction `tx` (a change and its events commit together). */
    async append(tx: DbTransaction, applicationId: string, drafts: EventDraft[], occurredAtMs: number): Promise<void> {
      if (drafts.length === 0) return;
      for (const statement of appendStatements(tx, provider, applicationId, drafts, occurredAtMs)) await statement;
    },

    /** Events after `after` in seq order, at most `limit`, narrowed by `filter`. */
    async readAfter(applicationId: string, after: number, limit: number, filter: EventFilter = NO_FILTER): Promise<LoggedEvent[]> {
      const types = filter.types === null ? Prisma.empty : Prisma.sql`AND "type" IN (${Prisma.join(filter.types)})`;
      const users = filter.userIds === null ? Prisma.empty : Prisma.sql`AND "userId" IN (${Prisma.join(filter.userIds)})`;
      const rows = await db.$queryRaw<EventRow[]>`SELECT "seq", "type", "userId", "occurredAtMs", "data" FROM "Event"
        WHERE "applicationId" = ${applicationId} AND "seq" > ${after} ${types} ${users}
        ORDER BY "seq" LIMIT ${limit}`;
      return rows.map((row) => toEvent(applicationId, row));
    },

    /** The last seq handed out (every event up to it is committed), and the highest seq pruned. */
    async position(applicationId: string): Promise<{ last: number; prunedThrough: number }> {
      const row = await db.eventSequence.findUnique({ where: { applicationId } });
      return { last: Number(row?.last ?? 0), prunedThrough: Number(row?.prunedThrough ?? 0) };
    },

    /**
     * Removes, at most `batch` at a time, the events that occurred before `cutoffMs`; the pruned
     * mark moves first, in the same transaction. Returns how many were removed.
     */
    async prune(applicationId: string, cutoffMs: number, batch: number): Promise<number> {
      return db.$transaction(async (tx) => {
        const rows = await tx.$queryRaw<Array<{ seq: bigint | number }>>`SELECT "seq" FROM "Event"
          WHERE "applicationId" = ${applicationId} AND "occurredAtMs" < ${cutoffMs} ORDER BY "seq" LIMIT ${batch}`;
        const through = rows.at(-1);
        if (through === undefined) return 0;
        const seq = Number(through.seq);
        await tx.$executeRaw`UPDATE "EventSequence" SET "prunedThrough" = ${seq} WHERE "applicationId" = ${applicationId} AND "prunedThrough" < ${seq}`;
        return tx.$executeRaw`DELETE FROM "Event" WHERE "applicationId" = ${applicationId} AND "seq" <= ${seq}`;
      });
    },

    /** Applications that have events (the pruner's work list). */
    async applicationsWithEvents(): Promise<string[]> {
      const rows = await db.eventSequence.findMany({ select: { applicationId: true } });
      return rows.map((row) => row.applicationId);
    },
  };
}

export type EventsStore = ReturnType<typeof createEventsStore>;
