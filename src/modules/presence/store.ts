// Persistence of presence state (the table behind the kv seam) and of the transition checkpoint.
// Sets are written in the event log's group commits, with their events: one statement per 500
// users, upserting only users that still exist (a batch racing a deletion cannot bring a deleted
// user's presence back). The batch travels as one
// JSON parameter, expanded by the database (json_each on SQLite, json_to_recordset on PostgreSQL).
import { sql } from 'kysely';
import type { Db } from '../../platform/db.ts';

export interface PresenceRow {
  applicationId: string;
  userId: string;
  /** The kv value: JSON of the stored state. */
  state: string;
}

/** ServerMeta key: every transition due at or before this moment (epoch ms) has been emitted. */
const CHECKPOINT_KEY = 'presenceCheckpoint';
const BATCH_ROWS = 500;
const LOAD_PAGE_ROWS = 5_000;

export function createPresenceStore(db: Db) {
  const { query, dialect } = db;

  /** One statement upserting a chunk of rows whose users exist (`WHERE true`: SQLite's upsert-after-join parse rule). */
  function upsertChunk(rows: PresenceRow[]) {
    const json = JSON.stringify(rows.map((row) => ({ a: row.applicationId, u: row.userId, s: row.state })));
    return sql`INSERT INTO "UserPresence" ("applicationId", "userId", "state")
      SELECT v."a", v."u", v."s" FROM ${dialect.jsonRows(json, ['a', 'u', 's'])} v
        JOIN "User" usr ON usr."applicationId" = v."a" AND usr."userId" = v."u"
      WHERE true
      ON CONFLICT ("applicationId", "userId") DO UPDATE SET "state" = excluded."state"`.compile(query);
  }

  return {
    /**
     * The statements that upsert these rows, for the event log's group commit (a set and its event
     * commit together); rows of deleted users are skipped.
     */
    upsertStatements(rows: PresenceRow[]) {
      const chunks = [];
      for (let start = 0; start < rows.length; start += BATCH_ROWS) chunks.push(upsertChunk(rows.slice(start, start + BATCH_ROWS)));
      return chunks;
    },

    /** The stored presences of one application, at most `limit` (the console's counts). */
    async ofApplication(applicationId: string, limit: number): Promise<string[]> {
      const rows = await db.rows<{ state: string }>(query.selectFrom('UserPresence').select('state').where('applicationId', '=', applicationId).limit(limit));
      return rows.map((row) => row.state);
    },

    /** Every stored presence, page by page (in key order). */
    async *loadAll(): AsyncGenerator<PresenceRow[]> {
      let after: { applicationId: string; userId: string } | null = null;
      for (;;) {
        let page = query.selectFrom('UserPresence').select(['applicationId', 'userId', 'state']);
        if (after !== null) {
          const { applicationId, userId } = after;
          page = page.where((eb) =>
            eb.or([eb('applicationId', '>', applicationId), eb.and([eb('applicationId', '=', applicationId), eb('userId', '>', userId)])]),
          );
        }
        const rows = await db.rows<PresenceRow>(page.orderBy('applicationId').orderBy('userId').limit(LOAD_PAGE_ROWS));
        if (rows.length === 0) return;
        yield rows;
        const last = rows[rows.length - 1] as PresenceRow;
        after = { applicationId: last.applicationId, userId: last.userId };
      }
    },

    async checkpoint(): Promise<number | null> {
      const [row] = await db.rows<{ value: string }>(query.selectFrom('ServerMeta').select('value').where('key', '=', CHECKPOINT_KEY));
      const value = row === undefined ? Number.NaN : Number(row.value);
      return Number.isFinite(value) ? value : null;
    },

    async setCheckpoint(at: number): Promise<void> {
      const value = String(at);
      await query
        .insertInto('ServerMeta')
        .values({ key: CHECKPOINT_KEY, value })
        .onConflict((oc) => oc.column('key').doUpdateSet({ value }))
        .execute();
    },
  };
}

export type PresenceStore = ReturnType<typeof createPresenceStore>;
