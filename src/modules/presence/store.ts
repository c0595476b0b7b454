// Persistence of presence state (the table behind the kv seam) and of the transition checkpoint.
// Writes come in batches: one statement per 500 users, upserting only users that still exist (a
// batch racing a deletion cannot bring a deleted user's presence back). The batch travels as one
// JSON parameter, expanded by the database (json_each on SQLite, json_to_recordset on PostgreSQL).
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

export function createPresenceStore(db: Db, provider: 'sqlite' | 'postgresql') {
  async function upsertChunk(rows: PresenceRow[]): Promise<void> {
    const json = JSON.stringify(rows.map((row) => ({ a: row.applicationId, u: row.userId, s: row.state })));
    if (provider === 'postgresql') {
      await db.$executeRaw`INSERT INTO "UserPresence" ("applicationId", "userId", "state")
        SELECT v."a", v."u", v."s" FROM json_to_recordset(${json}::json) AS v("a" text, "u" text, "s" text)
          JOIN "User" usr ON usr."applicationId" = v."a" AND usr."userId" = v."u"
        ON CONFLICT ("applicationId", "userId") DO UPDATE SET "state" = EXCLUDED."state"`;
    } else {
      // `WHERE true` settles SQLite's parse ambiguity between a join constraint and the upsert clause.
      await db.$executeRaw`INSERT INTO "UserPresence" ("applicationId", "userId", "state")
        SELECT json_extract(j.value, '$.a'), json_extract(j.value, '$.u'), json_extract(j.value, '$.s') FROM json_each(${json}) j
          JOIN "User" usr ON usr."applicationId" = json_extract(j.value, '$.a') AND usr."userId" = json_extract(j.value, '$.u')
        WHERE true
        ON CONFLICT ("applicationId", "userId") DO UPDATE SET "state" = excluded."state"`;
    }
  }

  return {
    /** Upserts each row whose user exists; rows of deleted users are skipped. */
    async upsertMany(rows: PresenceRow[]): Promise<void> {
      for (let start = 0; start < rows.length; start += BATCH_ROWS) await upsertChunk(rows.slice(start, start + BATCH_ROWS));
    },

    /** Every stored presence, page by page (in key order). */
    async *loadAll(): AsyncGenerator<PresenceRow[]> {
      let after: { applicationId: string; userId: string } | null = null;
      for (;;) {
        const page: PresenceRow[] = await db.userPresence.findMany({
          ...(after ? { where: { OR: [{ applicationId: { gt: after.applicationId } }, { applicationId: after.applicationId, userId: { gt: after.userId } }] } } : {}),
          orderBy: [{ applicationId: 'asc' }, { userId: 'asc' }],
          take: LOAD_PAGE_ROWS,
        });
        if (page.length === 0) return;
        yield page;
        const last = page[page.length - 1] as PresenceRow;
        after = { applicationId: last.applicationId, userId: last.userId };
      }
    },

    async checkpoint(): Promise<number | null> {
      const row = await db.serverMeta.findUnique({ where: { key: CHECKPOINT_KEY } });
      const value = row === null ? Number.NaN : Number(row.value);
      return Number.isFinite(value) ? value : null;
    },

    async setCheckpoint(at: number): Promise<void> {
      const value = String(at);
      await db.serverMeta.upsert({ where: { key: CHECKPOINT_KEY }, create: { key: CHECKPOINT_KEY, value }, update: { value } });
    },
  };
}

export type PresenceStore = ReturnType<typeof createPresenceStore>;
