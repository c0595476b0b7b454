// Persistence of entity metadata (docs/social.md). Rows go with their user (foreign key, on delete
// cascade). No events: metadata is not in the event log.
import type { Db } from '../../platform/db.ts';
import { prepared } from '../../platform/db.ts';
import { lockUserRow } from '../users/store.ts';
import type { MetadataType, MetadataValue } from './rules.ts';

export interface StoredMetadata {
  key: string;
  value: MetadataValue;
}

interface Row {
  userId: string;
  key: string;
  type: string;
  value: string;
}

const toStored = (row: Row): StoredMetadata => ({ key: row.key, value: { type: row.type as MetadataType, text: row.value } });

export function createMetadataStore(db: Db) {
  const { query, dialect } = db;
  const ofUsers = prepared(db, (q, applicationId: string, userIds: readonly string[]) =>
    q
      .selectFrom('UserMetadata')
      .select(['userId', 'key', 'type', 'value'])
      .where('applicationId', '=', applicationId)
      .where('userId', 'in', userIds)
      .orderBy('userId')
      .orderBy('key'),
  );

  return {
    /** Sets the key (a new key only while the user holds fewer than `limit`); null: no such user. */
    async upsert(applicationId: string, userId: string, key: string, value: MetadataValue, limit: number, now: Date): Promise<'set' | 'limit' | null> {
      return db.transaction(async (tx) => {
        // Serialises writes for one user, so two new keys cannot both pass the limit.
        if ((await lockUserRow(db, tx, applicationId, userId, null)) === null) return null;
        const updated = await tx
          .updateTable('UserMetadata')
          .set({ type: value.type, value: value.text, updatedAt: dialect.time(now) })
          .where('applicationId', '=', applicationId)
          .where('userId', '=', userId)
          .where('key', '=', key)
          .executeTakeFirst();
        if (updated.numUpdatedRows === 1n) return 'set';
        const held = await tx
          .selectFrom('UserMetadata')
          .select((eb) => eb.fn.countAll<number>().as('count'))
          .where('applicationId', '=', applicationId)
          .where('userId', '=', userId)
          .executeTakeFirstOrThrow();
        if (Number(held.count) >= limit) return 'limit';
        await tx
          .insertInto('UserMetadata')
          .values({ applicationId, userId, key, type: value.type, value: value.text, updatedAt: dialect.time(now) })
          .execute();
        return 'set';
      });
    },

    /** Each user's metadata, in key order; users without any are absent. */
    async ofUsers(applicationId: string, userIds: string[]): Promise<Map<string, StoredMetadata[]>> {
      const byUser = new Map<string, StoredMetadata[]>();
      for (let i = 0; i < userIds.length; i += 500) {
        for (const row of await ofUsers(applicationId, userIds.slice(i, i + 500))) {
          let list = byUser.get(row.userId);
          if (!list) byUser.set(row.userId, (list = []));
          list.push(toStored(row));
        }
      }
      return byUser;
    },

    /** False when the user held no such key. */
    async remove(applicationId: string, userId: string, key: string): Promise<boolean> {
      const removed = await query
        .deleteFrom('UserMetadata')
        .where('applicationId', '=', applicationId)
        .where('userId', '=', userId)
        .where('key', '=', key)
        .executeTakeFirst();
      return removed.numDeletedRows === 1n;
    },
  };
}

export type MetadataStore = ReturnType<typeof createMetadataStore>;
