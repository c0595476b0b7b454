// Persistence of attribute defs and profile values. No rules here: the service decides.
// Reads on request paths are single statements (a user's profile: one join, compiled once).
import type { Db, DbTransaction } from '../../platform/db.ts';
import { prepared } from '../../platform/db.ts';
import { readBool } from '../../platform/dialect.ts';
import type { AttributeDefinition, StoredAttribute } from './types.ts';
import type { EventRecorder } from '../events/service.ts';
import { lockUserRow } from '../users/store.ts';

const ENTITY_TYPE = 'users';

interface DefRow {
  key: string;
  allowedContentTypes: string;
  allowedContentEncodings: string;
  canBeEmpty: boolean | number;
}

function toDefinition(row: DefRow): AttributeDefinition {
  return {
    key: row.key,
    allowedContentTypes: JSON.parse(row.allowedContentTypes) as string[],
    allowedContentEncodings: JSON.parse(row.allowedContentEncodings) as string[],
    canBeEmpty: readBool(row.canBeEmpty),
    entityType: ENTITY_TYPE,
  };
}

interface ProfileRow {
  userInternalId: string;
  key: string | null;
  contentType: string | null;
  contentEncoding: string | null;
  value: string | null;
}

function toAttribute(row: ProfileRow): StoredAttribute | null {
  if (row.key === null || row.contentType === null || row.contentEncoding === null || row.value === null) return null;
  return { key: row.key, contentType: row.contentType, contentEncoding: row.contentEncoding, value: row.value };
}

/** Attributes in key order (code units, the same on both databases whatever their collation). */
export function byKey(a: StoredAttribute, b: StoredAttribute): number {
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

/** Thrown inside a write transaction to roll it back when the profile would outgrow its limit. */
class ProfileLimitReached extends Error {}

export type ProfileWrite = 'written' | 'limit' | null;

export function createProfilesStore(db: Db, events: EventRecorder) {
  const { query, dialect } = db;
  /** A user's whole profile: the user row (so a missing user is told apart) joined with its attributes. */
  const wholeProfile = prepared(db, (q, applicationId: string, userId: string) =>
    q
      .selectFrom('User as u')
      .leftJoin('ProfileAttribute as p', 'p.userInternalId', 'u.id')
      .select(['u.id as userInternalId', 'p.key', 'p.contentType', 'p.contentEncoding', 'p.value'])
      .where('u.applicationId', '=', applicationId)
      .where('u.userId', '=', userId),
  );
  const attributesOf = prepared(db, (q, userInternalIds: readonly string[]) =>
    q
      .selectFrom('ProfileAttribute')
      .select(['userInternalId', 'key', 'contentType', 'contentEncoding', 'value'])
      .where('userInternalId', 'in', userInternalIds),
  );

  /**
   * Locking the user row first serialises writes to one profile (and touches the user's
   * updatedAt), so a count taken inside the transaction cannot be raced. Null: no user.
   */
  async function inProfileTransaction(
    applicationId: string,
    userId: string,
    now: Date,
    write: (tx: DbTransaction, userInternalId: string) => Promise<string[]>,
  ): Promise<ProfileWrite> {
    try {
      return await events.transaction(applicationId, async (tx, emit) => {
        const userInternalId = await lockUserRow(db, tx, applicationId, userId, now);
        if (userInternalId === null) return null;
        const changed = await write(tx, userInternalId);
        if (changed.length > 0) emit({ type: 'profile.changed', userId, data: { keys: changed.sort() } });
        return 'written' as const;
      });
    } catch (error) {
      if (error instanceof ProfileLimitReached) return 'limit';
      throw error;
    }
  }

  const defs = (applicationId: string) => query.selectFrom('AttributeDef').where('applicationId', '=', applicationId).where('entityType', '=', ENTITY_TYPE);
  const DEF_COLUMNS = ['key', 'allowedContentTypes', 'allowedContentEncodings', 'canBeEmpty'] as const;

  return {
    /** A taken key fails with a unique violation (the primary key decides, races included). */
    async insertDef(applicationId: string, def: AttributeDefinition, now: Date): Promise<void> {
      await query
        .insertInto('AttributeDef')
        .values({
          applicationId,
          entityType: ENTITY_TYPE,
          key: def.key,
          allowedContentTypes: JSON.stringify(def.allowedContentTypes),
          allowedContentEncodings: JSON.stringify(def.allowedContentEncodings),
          canBeEmpty: dialect.bool(def.canBeEmpty),
          createdAt: dialect.time(now),
        })
        .execute();
    },

    async countDefs(applicationId: string): Promise<number> {
      const [row] = await db.rows<{ count: number }>(defs(applicationId).select((eb) => eb.fn.countAll<number>().as('count')));
      return Number(row?.count ?? 0);
    },

    /** Every def of the application, oldest first. */
    async listDefs(applicationId: string): Promise<AttributeDefinition[]> {
      const rows = await db.rows<DefRow>(defs(applicationId).select(DEF_COLUMNS).orderBy('createdAt').orderBy('key'));
      return rows.map(toDefinition);
    },

    async findDefs(applicationId: string, keys: string[]): Promise<AttributeDefinition[]> {
      if (keys.length === 0) return [];
      const rows = await db.rows<DefRow>(defs(applicationId).select(DEF_COLUMNS).where('key', 'in', keys));
      return rows.map(toDefinition);
    },

    /** A user's attributes (only `keys`, when given), or null when the user does not exist. */
    async readProfile(applicationId: string, userId: string, keys: string[] | null): Promise<StoredAttribute[] | null> {
      const rows: ProfileRow[] =
        keys === null
          ? await wholeProfile(applicationId, userId)
          : keys.length === 0
            ? await db.rows<ProfileRow>(
                query.selectFrom('User').select('id as userInternalId').where('applicationId', '=', applicationId).where('userId', '=', userId),
              )
            : await db.rows<ProfileRow>(
                query
                  .selectFrom('User as u')
                  .leftJoin('ProfileAttribute as p', (join) => join.onRef('p.userInternalId', '=', 'u.id').on('p.key', 'in', keys))
                  .select(['u.id as userInternalId', 'p.key', 'p.contentType', 'p.contentEncoding', 'p.value'])
                  .where('u.applicationId', '=', applicationId)
                  .where('u.userId', '=', userId),
              );
      if (rows.length === 0) return null;
      return rows
        .map(toAttribute)
        .filter((attribute) => attribute !== null)
        .sort(byKey);
    },

    /** The attributes of several users (by internal id), only `keys` when given, grouped per user. */
    async attributesOf(userInternalIds: string[], keys: string[] | null): Promise<Map<string, StoredAttribute[]>> {
      const byUser = new Map<string, StoredAttribute[]>();
      if (userInternalIds.length === 0 || (keys !== null && keys.length === 0)) return byUser;
      const rows: ProfileRow[] =
        keys === null
          ? await attributesOf(userInternalIds)
          : await db.rows<ProfileRow>(
              query
                .selectFrom('ProfileAttribute')
                .select(['userInternalId', 'key', 'contentType', 'contentEncoding', 'value'])
                .where('userInternalId', 'in', userInternalIds)
                .where('key', 'in', keys),
            );
      for (const row of rows) {
        const attribute = toAttribute(row);
        if (attribute === null) continue;
        const list = byUser.get(row.userInternalId) ?? [];
        list.push(attribute);
        byUser.set(row.userInternalId, list);
      }
      for (const list of byUser.values()) list.sort(byKey);
      return byUser;
    },

    /**
     * `replace`: the profile becomes exactly `attributes` (a Set patch). Otherwise each attribute
     * replaces the one with its key (a Diff patch). All or nothing; 'limit' (nothing written) when
     * the profile would hold more than `limit` attributes.
     */
    async writeAttributes(
      applicationId: string,
      userId: string,
      attributes: StoredAttribute[],
      options: { replace: boolean; limit: number },
      now: Date,
    ): Promise<ProfileWrite> {
      return inProfileTransaction(applicationId, userId, now, async (tx, userInternalId) => {
        const keys = attributes.map((attribute) => attribute.key);
        const removal = tx.deleteFrom('ProfileAttribute').where('userInternalId', '=', userInternalId);
        // A Set patch also changes the keys it drops.
        let dropped: string[] = [];
        if (options.replace) dropped = (await removal.returning('key').execute()).map((row) => row.key);
        else if (keys.length > 0) await removal.where('key', 'in', keys).execute();
        if (attributes.length > 0) {
          const updatedAt = dialect.time(now);
          await tx
            .insertInto('ProfileAttribute')
            .values(attributes.map((attribute) => ({ ...attribute, userInternalId, updatedAt })))
            .execute();
        }
        if (!options.replace) {
          const held = await tx
            .selectFrom('ProfileAttribute')
            .select((eb) => eb.fn.countAll<number>().as('count'))
            .where('userInternalId', '=', userInternalId)
            .executeTakeFirstOrThrow();
          if (Number(held.count) > options.limit) throw new ProfileLimitReached();
        }
        return [...new Set([...dropped, ...keys])];
      });
    },

    /** Removes these keys (absent ones are ignored). Null when the user does not exist. */
    async deleteAttributes(applicationId: string, userId: string, keys: string[], now: Date): Promise<ProfileWrite> {
      return inProfileTransaction(applicationId, userId, now, async (tx, userInternalId) => {
        if (keys.length === 0) return [];
        const removed = await tx
          .deleteFrom('ProfileAttribute')
          .where('userInternalId', '=', userInternalId)
          .where('key', 'in', keys)
          .returning('key')
          .execute();
        return removed.map((row) => row.key);
      });
    },
  };
}

export type ProfilesStore = ReturnType<typeof createProfilesStore>;
