// Persistence of applications and access keys. Every mutation also replaces the shared
// revision marker in the same transaction, which tells other processes to drop their caches.
import { randomUUID } from 'node:crypto';
import type { Db, DbTransaction } from '../../platform/db.ts';
import { readOptionalTime, readTime } from '../../platform/dialect.ts';

export const REVISION_KEY = 'applications.revision';
const BOOTSTRAP_KEY = 'bootstrap.defaultApplication';

export interface ApplicationRow {
  id: string;
  name: string;
  settings: string;
  createdAt: Date;
}

export interface AccessKeyRow {
  accessKey: string;
  applicationId: string;
  secretEncrypted: string;
  createdAt: Date;
  revokedAt: Date | null;
}

export class ActiveKeyLimitError extends Error {
  override name = 'ActiveKeyLimitError';
}

interface StoredAccessKey {
  accessKey: string;
  applicationId: string;
  secretEncrypted: string;
  createdAt: Date | string;
  revokedAt: Date | string | null;
}

const toAccessKey = (row: StoredAccessKey): AccessKeyRow => ({ ...row, createdAt: readTime(row.createdAt), revokedAt: readOptionalTime(row.revokedAt) });

export function createApplicationsStore(db: Db) {
  const { query, dialect } = db;

  async function bumpRevision(tx: DbTransaction): Promise<void> {
    const value = randomUUID();
    await tx
      .insertInto('ServerMeta')
      .values({ key: REVISION_KEY, value })
      .onConflict((oc) => oc.column('key').doUpdateSet({ value }))
      .execute();
  }

  /** The application and its first key (the server's clock, as every other write). */
  async function insertWithKey(
    tx: DbTransaction,
    application: { id: string; name: string },
    key: { accessKey: string; secretEncrypted: string },
  ): Promise<void> {
    const now = dialect.time(new Date());
    await tx.insertInto('Application').values({ id: application.id, name: application.name, createdAt: now, updatedAt: now }).execute();
    await tx
      .insertInto('AccessKey')
      .values({ accessKey: key.accessKey, applicationId: application.id, secretEncrypted: key.secretEncrypted, createdAt: now })
      .execute();
    await bumpRevision(tx);
  }

  return {
    async insertApplication(application: { id: string; name: string }, key: { accessKey: string; secretEncrypted: string }): Promise<void> {
      await db.transaction((tx) => insertWithKey(tx, application, key));
    },

    /**
     * Creates the first application if this database has never had one bootstrapped; false when
     * another process or an earlier start already did (the marker row's key is unique).
     */
    async insertDefaultApplicationOnce(application: { id: string; name: string }, key: { accessKey: string; secretEncrypted: string }): Promise<boolean> {
      return db.transaction(async (tx) => {
        const marked = await tx.selectFrom('ServerMeta').select('value').where('key', '=', BOOTSTRAP_KEY).executeTakeFirst();
        const existing = await tx.selectFrom('Application').select('id').limit(1).executeTakeFirst();
        if (marked !== undefined || existing !== undefined) return false;
        await tx.insertInto('ServerMeta').values({ key: BOOTSTRAP_KEY, value: application.id }).execute();
        await insertWithKey(tx, application, key);
        return true;
      });
    },

    async listApplications(): Promise<Array<ApplicationRow & { accessKeys: AccessKeyRow[] }>> {
      const applications = await db.rows<ApplicationRow & { createdAt: Date | string }>(
        query.selectFrom('Application').select(['id', 'name', 'settings', 'createdAt']).orderBy('createdAt').orderBy('id'),
      );
      const keys = await db.rows<StoredAccessKey>(
        query
          .selectFrom('AccessKey')
          .select(['accessKey', 'applicationId', 'secretEncrypted', 'createdAt', 'revokedAt'])
          .orderBy('createdAt')
          .orderBy('accessKey'),
      );
      return applications.map((application) => ({
        ...application,
        createdAt: readTime(application.createdAt),
        accessKeys: keys.filter((key) => key.applicationId === application.id).map(toAccessKey),
      }));
    },

    async findApplication(id: string): Promise<ApplicationRow | null> {
      const [row] = await db.rows<ApplicationRow & { createdAt: Date | string }>(
        query.selectFrom('Application').select(['id', 'name', 'settings', 'createdAt']).where('id', '=', id),
      );
      return row === undefined ? null : { ...row, createdAt: readTime(row.createdAt) };
    },

    async findActiveAccessKey(accessKey: string): Promise<AccessKeyRow | null> {
      const [row] = await db.rows<StoredAccessKey>(
        query
          .selectFrom('AccessKey')
          .select(['accessKey', 'applicationId', 'secretEncrypted', 'createdAt', 'revokedAt'])
          .where('accessKey', '=', accessKey)
          .where('revokedAt', 'is', null),
      );
      return row === undefined ? null : toAccessKey(row);
    },

    /** Adds a key unless the application already has `maxActive` active keys. */
    async insertAccessKey(applicationId: string, key: { accessKey: string; secretEncrypted: string }, maxActive: number): Promise<'added' | 'no_application'> {
      return db.transaction(async (tx) => {
        // Writing the application row first serialises concurrent key additions for it: a row lock
        // on PostgreSQL, the database write lock on SQLite. Then the count below cannot go stale.
        const now = dialect.time(new Date());
        const locked = await tx.updateTable('Application').set({ updatedAt: now }).where('id', '=', applicationId).executeTakeFirst();
        if (locked.numUpdatedRows === 0n) return 'no_application';
        const held = await tx
          .selectFrom('AccessKey')
          .select((eb) => eb.fn.countAll<number>().as('count'))
          .where('applicationId', '=', applicationId)
          .where('revokedAt', 'is', null)
          .executeTakeFirstOrThrow();
        const active = Number(held.count);
        if (active >= maxActive) throw new ActiveKeyLimitError(`application ${applicationId} already has ${active} active access keys (at most ${maxActive})`);
        await tx.insertInto('AccessKey').values({ accessKey: key.accessKey, applicationId, secretEncrypted: key.secretEncrypted, createdAt: now }).execute();
        await bumpRevision(tx);
        return 'added';
      });
    },

    /** Revokes an active key; false when the application has no such active key. */
    async revokeAccessKey(applicationId: string, accessKey: string, at: Date): Promise<boolean> {
      return db.transaction(async (tx) => {
        const revoked = await tx
          .updateTable('AccessKey')
          .set({ revokedAt: dialect.time(at) })
          .where('applicationId', '=', applicationId)
          .where('accessKey', '=', accessKey)
          .where('revokedAt', 'is', null)
          .executeTakeFirst();
        if (revoked.numUpdatedRows === 0n) return false;
        await bumpRevision(tx);
        return true;
      });
    },

    async updateSettings(applicationId: string, settingsJson: string): Promise<boolean> {
      return db.transaction(async (tx) => {
        const updated = await tx
          .updateTable('Application')
          .set({ settings: settingsJson, updatedAt: dialect.time(new Date()) })
          .where('id', '=', applicationId)
          .executeTakeFirst();
        if (updated.numUpdatedRows === 0n) return false;
        await bumpRevision(tx);
        return true;
      });
    },

    async rename(applicationId: string, name: string): Promise<boolean> {
      return db.transaction(async (tx) => {
        const updated = await tx
          .updateTable('Application')
          .set({ name, updatedAt: dialect.time(new Date()) })
          .where('id', '=', applicationId)
          .executeTakeFirst();
        if (updated.numUpdatedRows === 0n) return false;
        await bumpRevision(tx);
        return true;
      });
    },

    async readRevision(): Promise<string | null> {
      const [row] = await db.rows<{ value: string }>(query.selectFrom('ServerMeta').select('value').where('key', '=', REVISION_KEY));
      return row?.value ?? null;
    },
  };
}

export type ApplicationsStore = ReturnType<typeof createApplicationsStore>;
