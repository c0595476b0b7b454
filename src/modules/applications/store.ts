// Persistence of applications and access keys (Prisma). Every mutation also replaces the shared
// revision marker in the same transaction, which tells other processes to drop their caches.
import { randomUUID } from 'node:crypto';
import type { Db, DbTransaction } from '../../platform/db.ts';

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

async function bumpRevision(tx: DbTransaction): Promise<void> {
  const value = randomUUID();
  await tx.serverMeta.upsert({ where: { key: REVISION_KEY }, create: { key: REVISION_KEY, value }, update: { value } });
}

export function createApplicationsStore(db: Db) {
  return {
    async insertApplication(application: { id: string; name: string }, key: { accessKey: string; secretEncrypted: string }): Promise<void> {
      await db.$transaction(async (tx) => {
        await tx.application.create({ data: { id: application.id, name: application.name } });
        await tx.accessKey.create({ data: { accessKey: key.accessKey, applicationId: application.id, secretEncrypted: key.secretEncrypted } });
        await bumpRevision(tx);
      });
    },

    /**
     * Creates the first application if this database has never had one bootstrapped; false when
     * another process or an earlier start already did (the marker row's key is unique).
     */
    async insertDefaultApplicationOnce(application: { id: string; name: string }, key: { accessKey: string; secretEncrypted: string }): Promise<boolean> {
      return db.$transaction(async (tx) => {
        const marked = await tx.serverMeta.findUnique({ where: { key: BOOTSTRAP_KEY } });
        if (marked || (await tx.application.count()) > 0) return false;
        await tx.serverMeta.create({ data: { key: BOOTSTRAP_KEY, value: application.id } });
        await tx.application.create({ data: { id: application.id, name: application.name } });
        await tx.accessKey.create({ data: { accessKey: key.accessKey, applicationId: application.id, secretEncrypted: key.secretEncrypted } });
        await bumpRevision(tx);
        return true;
      });
    },

    async listApplications(): Promise<Array<ApplicationRow & { accessKeys: AccessKeyRow[] }>> {
      return db.application.findMany({ orderBy: { createdAt: 'asc' }, include: { accessKeys: { orderBy: { createdAt: 'asc' } } } });
    },

    async findApplication(id: string): Promise<ApplicationRow | null> {
      return db.application.findUnique({ where: { id } });
    },

    async findActiveAccessKey(accessKey: string): Promise<AccessKeyRow | null> {
      return db.accessKey.findFirst({ where: { accessKey, revokedAt: null } });
    },

    /** Adds a key unless the application already has `maxActive` active keys. */
    async insertAccessKey(applicationId: string, key: { accessKey: string; secretEncrypted: string }, maxActive: number): Promise<'added' | 'no_application'> {
      return db.$transaction(async (tx) => {
        // Writing the application row first serialises concurrent key additions for it: a row lock
        // on PostgreSQL, the database write lock on SQLite. Then the count below cannot go stale.
        const locked = await tx.application.updateMany({ where: { id: applicationId }, data: { updatedAt: new Date() } });
        if (locked.count === 0) return 'no_application';
        const active = await tx.accessKey.count({ where: { applicationId, revokedAt: null } });
        if (active >= maxActive) throw new ActiveKeyLimitError(`application ${applicationId} already has ${active} active access keys (at most ${maxActive})`);
        await tx.accessKey.create({ data: { accessKey: key.accessKey, applicationId, secretEncrypted: key.secretEncrypted } });
        await bumpRevision(tx);
        return 'added';
      });
    },

    /** Revokes an active key; false when the application has no such active key. */
    async revokeAccessKey(applicationId: string, accessKey: string, at: Date): Promise<boolean> {
      return db.$transaction(async (tx) => {
        const revoked = await tx.accessKey.updateMany({ where: { applicationId, accessKey, revokedAt: null }, data: { revokedAt: at } });
        if (revoked.count > 0) await bumpRevision(tx);
        return revoked.count > 0;
      });
    },

    async updateSettings(applicationId: string, settingsJson: string): Promise<boolean> {
      return db.$transaction(async (tx) => {
        const updated = await tx.application.updateMany({ where: { id: applicationId }, data: { settings: settingsJson } });
        if (updated.count > 0) await bumpRevision(tx);
        return updated.count > 0;
      });
    },

    async readRevision(): Promise<string | null> {
      return (await db.serverMeta.findUnique({ where: { key: REVISION_KEY } }))?.value ?? null;
    },
  };
}

export type ApplicationsStore = ReturnType<typeof createApplicationsStore>;
