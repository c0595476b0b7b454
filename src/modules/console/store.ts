// Console credentials (docs/console.md): login links and sessions, kept as SHA-256 of their secrets.
import type { Db } from '../../platform/db.ts';

export type CredentialKind = 'link' | 'session';

export function createConsoleStore(db: Db) {
  const { query, dialect } = db;
  return {
    async insert(credential: { id: string; kind: CredentialKind; secretHash: string; createdAt: Date; expiresAt: Date }): Promise<void> {
      await query
        .insertInto('ConsoleCredential')
        .values({
          id: credential.id,
          kind: credential.kind,
          secretHash: credential.secretHash,
          createdAt: dialect.time(credential.createdAt),
          expiresAt: dialect.time(credential.expiresAt),
        })
        .execute();
    },

    /** Marks an unused, unexpired link used; true for exactly one caller per link. */
    async useLink(secretHash: string, now: Date): Promise<boolean> {
      const result = await query
        .updateTable('ConsoleCredential')
        .set({ usedAt: dialect.time(now) })
        .where('secretHash', '=', secretHash)
        .where('kind', '=', 'link')
        .where('usedAt', 'is', null)
        .where('expiresAt', '>', dialect.time(now))
        .executeTakeFirst();
      return result.numUpdatedRows === 1n;
    },

    /** The live session with this secret, if any. */
    async findSession(secretHash: string, now: Date): Promise<{ id: string } | null> {
      const row = await query
        .selectFrom('ConsoleCredential')
        .select('id')
        .where('secretHash', '=', secretHash)
        .where('kind', '=', 'session')
        .where('expiresAt', '>', dialect.time(now))
        .executeTakeFirst();
      return row ?? null;
    },

    async deleteSession(id: string): Promise<void> {
      await query.deleteFrom('ConsoleCredential').where('id', '=', id).where('kind', '=', 'session').execute();
    },

    /** Ends every session and voids every unused link; returns how many sessions ended. */
    async logoutAll(): Promise<number> {
      const ended = await query.deleteFrom('ConsoleCredential').where('kind', '=', 'session').executeTakeFirst();
      await query.deleteFrom('ConsoleCredential').where('kind', '=', 'link').execute();
      return Number(ended.numDeletedRows);
    },

    /** Drops what has expired (links and sessions alike). */
    async prune(now: Date): Promise<void> {
      await query.deleteFrom('ConsoleCredential').where('expiresAt', '<=', dialect.time(now)).execute();
    },
  };
}

export type ConsoleStore = ReturnType<typeof createConsoleStore>;
