// Persistence of device (QR) login links (docs/social.md). Secrets are kept as SHA-256 hashes; each
// step is one conditional update, so approving and consuming happen at most once however many
// requests race (on any instance).
import type { Db } from '../../platform/db.ts';
import { readTime } from '../../platform/dialect.ts';

export interface NewDeviceLink {
  id: string;
  applicationId: string;
  codeHash: string;
  pollTokenHash: string;
  address: string | null;
  userAgent: string | null;
  createdAt: Date;
  expiresAt: Date;
}

export interface DeviceLinkState {
  id: string;
  applicationId: string;
  pollTokenHash: string;
  expiresAt: Date;
  approvedUserId: string | null;
  consumed: boolean;
  userAgent: string | null;
  address: string | null;
}

/** Links expired this long ago are removed when a new one is made. */
const KEEP_EXPIRED_MS = 10 * 60 * 1000;

export function createDeviceLinksStore(db: Db) {
  const { query, dialect } = db;
  return {
    async insert(link: NewDeviceLink): Promise<void> {
      await query
        .insertInto('DeviceLink')
        .values({ ...link, createdAt: dialect.time(link.createdAt), expiresAt: dialect.time(link.expiresAt) })
        .execute();
      await query
        .deleteFrom('DeviceLink')
        .where('expiresAt', '<', dialect.time(new Date(link.createdAt.getTime() - KEEP_EXPIRED_MS)))
        .execute();
    },

    async find(id: string): Promise<DeviceLinkState | null> {
      const [row] = await db.rows<{
        id: string;
        applicationId: string;
        pollTokenHash: string;
        expiresAt: Date | string;
        approvedUserId: string | null;
        consumedAt: Date | string | null;
        userAgent: string | null;
        address: string | null;
      }>(
        query
          .selectFrom('DeviceLink')
          .select(['id', 'applicationId', 'pollTokenHash', 'expiresAt', 'approvedUserId', 'consumedAt', 'userAgent', 'address'])
          .where('id', '=', id),
      );
      if (row === undefined) return null;
      const { consumedAt, ...link } = row;
      return { ...link, expiresAt: readTime(row.expiresAt), consumed: consumedAt !== null };
    },

    /** Approves the pending, unexpired link with this code in this application; its id, or null. */
    async approve(applicationId: string, codeHash: string, userId: string, deviceName: string | null, now: Date): Promise<string | null> {
      const row = await query
        .updateTable('DeviceLink')
        .set({ approvedUserId: userId, deviceName, approvedAt: dialect.time(now) })
        .where('codeHash', '=', codeHash)
        .where('applicationId', '=', applicationId)
        .where('approvedAt', 'is', null)
        .where('expiresAt', '>', dialect.time(now))
        .returning('id')
        .executeTakeFirst();
      return row?.id ?? null;
    },

    /** Marks an approved, unexpired link consumed; true for the one caller that did. */
    async consume(id: string, now: Date): Promise<boolean> {
      const result = await query
        .updateTable('DeviceLink')
        .set({ consumedAt: dialect.time(now) })
        .where('id', '=', id)
        .where('approvedAt', 'is not', null)
        .where('consumedAt', 'is', null)
        .where('expiresAt', '>', dialect.time(now))
        .executeTakeFirst();
      return result.numUpdatedRows === 1n;
    },
  };
}

export type DeviceLinksStore = ReturnType<typeof createDeviceLinksStore>;
