// Persistence of attribute defs and profile values (Prisma). No rules here: the service decides.
// Reads on request paths are single parameterised SQL statements (see users/store.ts for why).
import { Prisma, type Db, type DbTransaction } from '../../platform/db.ts';
import type { AttributeDefinition, StoredAttribute } from '../../wire/profiles.ts';
import type { EventRecorder } from '../events/service.ts';
import { lockUserRow } from '../users/store.ts';

const ENTITY_TYPE = 'users';

interface DefRow {
  key: string;
  allowedContentTypes: string;
  allowedContentEncodings: string;
  canBeEmpty: boolean;
}

function toDefinition(row: DefRow): AttributeDefinition {
  return {
    key: row.key,
    allowedContentTypes: JSON.parse(row.allowedContentTypes) as string[],
    allowedContentEncodings: JSON.parse(row.allowedContentEncodings) as string[],
    canBeEmpty: row.canBeEmpty,
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
      return await db.$transaction(async (tx) => {
        const userInternalId = await lockUserRow(tx, applicationId, userId, now);
        if (userInternalId === null) return null;
        const changed = await write(tx, userInternalId);
        if (changed.length > 0) await events.append(tx, applicationId, [{ type: 'profile.changed', userId, data: { keys: changed.sort() } }]);
        return 'written' as const;
      });
    } catch (error) {
      if (error instanceof ProfileLimitReached) return 'limit';
      throw error;
    }
  }

  return {
    /** A taken key fails with a unique violation (the primary key decides, races included). */
    async insertDef(applicationId: string, def: AttributeDefinition, now: Date): Promise<void> {
      await db.attributeDef.create({
        data: {
          applicationId,
          entityType: ENTITY_TYPE,
          key: def.key,
          allowedContentTypes: JSON.stringify(def.allowedContentTypes),
          allowedContentEncodings: JSON.stringify(def.allowedContentEncodings),
          canBeEmpty: def.canBeEmpty,
          createdAt: now,
        },
      });
    },

    async countDefs(applicationId: string): Promise<number> {
      return db.attributeDef.count({ where: { applicationId, entityType: ENTITY_TYPE } });
    },

    /** Every def of the application, oldest first. */
    async listDefs(applicationId: string): Promise<AttributeDefinition[]> {
      const rows = await db.attributeDef.findMany({
        where: { applicationId, entityType: ENTITY_TYPE },
        orderBy: [{ createdAt: 'asc' }, { key: 'asc' }],
      });
      return rows.map(toDefinition);
    },

    async findDefs(applicationId: string, keys: string[]): Promise<AttributeDefinition[]> {
      if (keys.length === 0) return [];
      const rows = await db.$queryRaw<DefRow[]>`SELECT "key", "allowedContentTypes", "allowedContentEncodings", "canBeEmpty"
        FROM "AttributeDef" WHERE "applicationId" = ${applicationId} AND "entityType" = ${ENTITY_TYPE} AND "key" IN (${Prisma.join(keys)})`;
      // SQLite returns booleans as 0/1 through raw queries.
      return rows.map((row) => toDefinition({ ...row, canBeEmpty: Boolean(row.canBeEmpty) }));
    },

    /** A user's attributes (only `keys`, when given), or null when the user does not exist. */
    async readProfile(applicationId: string, userId: string, keys: string[] | null): Promise<StoredAttribute[] | null> {
      const keyCondition = keys === null ? Prisma.empty : Prisma.sql`AND p."key" IN (${Prisma.join(keys)})`;
      const rows = await db.$queryRaw<ProfileRow[]>`SELECT u."id" AS "userInternalId", p."key", p."contentType", p."contentEncoding", p."value"
        FROM "User" u LEFT JOIN "ProfileAttribute" p ON p."userInternalId" = u."id" ${keyCondition}
        WHERE u."applicationId" = ${applicationId} AND u."userId" = ${userId}`;
      if (rows.length === 0) return null;
      return rows.map(toAttribute).filter((attribute) => attribute !== null).sort(byKey);
    },

    /** The attributes of several users (by internal id), only `keys` when given, grouped per user. */
    async attributesOf(userInternalIds: string[], keys: string[] | null): Promise<Map<string, StoredAttribute[]>> {
      const byUser = new Map<string, StoredAttribute[]>();
      if (userInternalIds.length === 0 || (keys !== null && keys.length === 0)) return byUser;
      const keyCondition = keys === null ? Prisma.empty : Prisma.sql`AND "key" IN (${Prisma.join(keys)})`;
      const rows = await db.$queryRaw<ProfileRow[]>`SELECT "userInternalId", "key", "contentType", "contentEncoding", "value"
        FROM "ProfileAttribute" WHERE "userInternalId" IN (${Prisma.join(userInternalIds)}) ${keyCondition}`;
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
        // A Set patch also changes the keys it drops.
        const dropped = options.replace ? (await tx.profileAttribute.findMany({ where: { userInternalId }, select: { key: true } })).map((row) => row.key) : [];
        await tx.profileAttribute.deleteMany({ where: options.replace ? { userInternalId } : { userInternalId, key: { in: keys } } });
        if (attributes.length > 0) {
          await tx.profileAttribute.createMany({ data: attributes.map((attribute) => ({ ...attribute, userInternalId, updatedAt: now })) });
        }
        if (!options.replace && (await tx.profileAttribute.count({ where: { userInternalId } })) > options.limit) throw new ProfileLimitReached();
        return [...new Set([...dropped, ...keys])];
      });
    },

    /** Removes these keys (absent ones are ignored). Null when the user does not exist. */
    async deleteAttributes(applicationId: string, userId: string, keys: string[], now: Date): Promise<ProfileWrite> {
      return inProfileTransaction(applicationId, userId, now, async (tx, userInternalId) => {
        const held = await tx.profileAttribute.findMany({ where: { userInternalId, key: { in: keys } }, select: { key: true } });
        if (held.length > 0) await tx.profileAttribute.deleteMany({ where: { userInternalId, key: { in: held.map((row) => row.key) } } });
        return held.map((row) => row.key);
      });
    },
  };
}

export type ProfilesStore = ReturnType<typeof createProfilesStore>;
