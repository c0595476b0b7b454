// Persistence of users, their locators and the ids of deleted users (Prisma). No rules here:
// the service decides, the store reads and writes. Times come from the caller's clock.
//
// Reads of whole users (user + locators) are one parameterised SQL join each, valid on both
// PostgreSQL and SQLite: Prisma's typed API spends ~0.8 ms of CPU per query and needs two queries
// for a user with its locators, a raw join ~0.3 ms for both (measured; see the README).
import { Prisma, type Db, type DbTransaction } from '../../platform/db.ts';
import { toWireLocator, toWireUser, type StoredUser } from '../../wire/users.ts';
import type { EventRecorder } from '../events/service.ts';

/** A user's locators in the order they were given, then added. */
const WITH_LOCATORS = { locators: { orderBy: [{ position: 'asc' as const }, { createdAt: 'asc' as const }, { id: 'asc' as const }] } };

interface UserLocatorRow {
  id: string;
  applicationId: string;
  userId: string;
  screenName: string;
  createdAt: Date;
  updatedAt: Date;
  locatorId: string | null;
  locator: string | null;
  verificationStatus: string | null;
  /** The locator a lookup matched (findByLocators only). */
  matched?: string;
}

const USER_COLUMNS = Prisma.sql`u."id", u."applicationId", u."userId", u."screenName", u."createdAt", u."updatedAt",
  l."id" AS "locatorId", l."locator", l."verificationStatus"`;
const LOCATOR_ORDER = Prisma.sql`l."position", l."createdAt", l."id"`;

/** Folds join rows (one per locator, or one with null locator columns) into users, in row order. */
function foldUsers(rows: UserLocatorRow[]): StoredUser[] {
  const users = new Map<string, StoredUser>();
  for (const row of rows) {
    let user = users.get(row.id);
    if (!user) {
      user = { id: row.id, applicationId: row.applicationId, userId: row.userId, screenName: row.screenName, createdAt: row.createdAt, updatedAt: row.updatedAt, locators: [] };
      users.set(row.id, user);
    }
    if (row.locatorId !== null && row.locator !== null && row.verificationStatus !== null && !user.locators.some((l) => l.id === row.locatorId)) {
      user.locators.push({ id: row.locatorId, applicationId: row.applicationId, locator: row.locator, verificationStatus: row.verificationStatus });
    }
  }
  return [...users.values()];
}

export interface NewLocatorRow {
  id: string;
  locator: string;
  verificationStatus: string;
}

export interface NewUserRow {
  id: string;
  applicationId: string;
  userId: string;
  screenName: string;
  locators: NewLocatorRow[];
}

export interface DeletedUserRow {
  id: string;
  applicationId: string;
  userId: string;
}

/**
 * Takes the user row's write lock for the rest of `tx` (a row lock on PostgreSQL, the one writer
 * on SQLite), so that writes about one user (its profile, its tokens, its deletion) serialise;
 * `touchedAt` also moves the user's updatedAt. The user's internal id, or null for no such user.
 */
export async function lockUserRow(tx: DbTransaction, applicationId: string, userId: string, touchedAt: Date | null): Promise<string | null> {
  const rows =
    touchedAt === null
      ? await tx.$queryRaw<Array<{ id: string }>>`UPDATE "User" SET "screenName" = "screenName"
          WHERE "applicationId" = ${applicationId} AND "userId" = ${userId} RETURNING "id"`
      : await tx.$queryRaw<Array<{ id: string }>>`UPDATE "User" SET "updatedAt" = ${touchedAt}
          WHERE "applicationId" = ${applicationId} AND "userId" = ${userId} RETURNING "id"`;
  return rows[0]?.id ?? null;
}

/**
 * Every write appends its events (SPEC §8) in its own transaction; the caller reports the commit
 * (events.committed) once the write returns.
 */
export function createUsersStore(db: Db, events: EventRecorder) {
  return {
    /** User and locators in one transaction with its event; unique indexes reject taken ids and locators. */
    async insertUser(user: NewUserRow, now: Date): Promise<StoredUser> {
      return db.$transaction(async (tx) => {
        const created = await tx.user.create({
          data: {
            id: user.id,
            applicationId: user.applicationId,
            userId: user.userId,
            screenName: user.screenName,
            createdAt: now,
            updatedAt: now,
            locators: { create: user.locators.map((l, position) => ({ ...l, position, applicationId: user.applicationId, createdAt: now })) },
          },
          include: WITH_LOCATORS,
        });
        await events.append(tx, user.applicationId, [{ type: 'user.created', userId: user.userId, data: { user: toWireUser(created) } }]);
        return created;
      });
    },

    async findUser(applicationId: string, userId: string): Promise<StoredUser | null> {
      const rows = await db.$queryRaw<UserLocatorRow[]>`SELECT ${USER_COLUMNS}
        FROM "User" u LEFT JOIN "UserLocator" l ON l."userInternalId" = u."id"
        WHERE u."applicationId" = ${applicationId} AND u."userId" = ${userId}
        ORDER BY ${LOCATOR_ORDER}`;
      return foldUsers(rows)[0] ?? null;
    },

    /** On the path of every sudo request: one indexed raw query. */
    async userExists(applicationId: string, userId: string): Promise<boolean> {
      const rows = await db.$queryRaw<unknown[]>`SELECT 1 AS "found" FROM "User" WHERE "applicationId" = ${applicationId} AND "userId" = ${userId}`;
      return rows.length > 0;
    },

    /** Which of these user ids exist (one indexed raw query). */
    async existingUserIds(applicationId: string, userIds: string[]): Promise<string[]> {
      if (userIds.length === 0) return [];
      const rows = await db.$queryRaw<Array<{ userId: string }>>`SELECT "userId" FROM "User"
        WHERE "applicationId" = ${applicationId} AND "userId" IN (${Prisma.join(userIds)})`;
      return rows.map((row) => row.userId);
    },

    /** The users owning any of these normalised locators (at most 100), each with the locators it matched. */
    async findByLocators(applicationId: string, locators: string[]): Promise<Array<{ matched: string[]; user: StoredUser }>> {
      if (locators.length === 0) return [];
      const rows = await db.$queryRaw<UserLocatorRow[]>`SELECT m."locator" AS "matched", ${USER_COLUMNS}
        FROM "UserLocator" m
        JOIN "User" u ON u."id" = m."userInternalId"
        LEFT JOIN "UserLocator" l ON l."userInternalId" = u."id"
        WHERE m."applicationId" = ${applicationId} AND m."locator" IN (${Prisma.join(locators)})
        ORDER BY u."id", ${LOCATOR_ORDER}`;
      const matched = new Map<string, Set<string>>();
      for (const row of rows) {
        if (row.matched !== undefined) matched.set(row.id, (matched.get(row.id) ?? new Set()).add(row.matched));
      }
      return foldUsers(rows).map((user) => ({ matched: [...(matched.get(user.id) ?? [])], user }));
    },

    /** One page in user-id order, starting after `after`; `take` users at most. */
    async listUsers(applicationId: string, after: string | null, take: number): Promise<StoredUser[]> {
      const afterCondition = after === null ? Prisma.empty : Prisma.sql`AND "userId" > ${after}`;
      const rows = await db.$queryRaw<UserLocatorRow[]>`SELECT ${USER_COLUMNS}
        FROM (SELECT * FROM "User" WHERE "applicationId" = ${applicationId} ${afterCondition} ORDER BY "userId" LIMIT ${take}) u
        LEFT JOIN "UserLocator" l ON l."userInternalId" = u."id"
        ORDER BY u."userId", ${LOCATOR_ORDER}`;
      return foldUsers(rows);
    },

    async countUsers(applicationId: string): Promise<number> {
      return db.user.count({ where: { applicationId } });
    },

    /** One indexed raw query (the typed findMany cost ~0.6 ms of CPU per call). */
    async screenNames(applicationId: string, userIds: string[]): Promise<Array<{ userId: string; screenName: string }>> {
      if (userIds.length === 0) return [];
      return db.$queryRaw<Array<{ userId: string; screenName: string }>>`SELECT "userId", "screenName" FROM "User"
        WHERE "applicationId" = ${applicationId} AND "userId" IN (${Prisma.join(userIds)})`;
    },

    /** False when the user does not exist. */
    async updateScreenName(applicationId: string, userId: string, screenName: string, now: Date): Promise<boolean> {
      return db.$transaction(async (tx) => {
        const { count } = await tx.user.updateMany({ where: { applicationId, userId }, data: { screenName, updatedAt: now } });
        if (count === 1) await events.append(tx, applicationId, [{ type: 'user.screenname', userId, data: { screenName } }]);
        return count === 1;
      });
    },

    /**
     * Adds a locator unless the user already has `limit`. Touching the user row first serialises
     * concurrent additions for one user (a row lock on PostgreSQL, the write lock on SQLite), so the
     * count cannot be raced past the limit. Null when the user does not exist.
     */
    async insertLocator(applicationId: string, userId: string, locator: NewLocatorRow, limit: number, now: Date): Promise<'added' | 'limit' | null> {
      return db.$transaction(async (tx) => {
        const touched = await tx.user.updateMany({ where: { applicationId, userId }, data: { updatedAt: now } });
        if (touched.count === 0) return null;
        const user = await tx.user.findUniqueOrThrow({ where: { applicationId_userId: { applicationId, userId } }, select: { id: true } });
        const held = await tx.userLocator.aggregate({ where: { userInternalId: user.id }, _count: { _all: true }, _max: { position: true } });
        if (held._count._all >= limit) return 'limit';
        const position = (held._max.position ?? -1) + 1;
        await tx.userLocator.create({ data: { ...locator, position, applicationId, userInternalId: user.id, createdAt: now } });
        await events.append(tx, applicationId, [{ type: 'locator.added', userId, data: { locator: toWireLocator({ ...locator, applicationId }) } }]);
        return 'added';
      });
    },

    /** False when no such locator belongs to that user. */
    async deleteLocator(applicationId: string, userId: string, locatorId: string, now: Date): Promise<boolean> {
      return db.$transaction(async (tx) => {
        const found = await tx.userLocator.findFirst({ where: { id: locatorId, applicationId, user: { userId } }, select: { locator: true } });
        if (found === null) return false;
        await tx.userLocator.delete({ where: { id: locatorId } });
        await tx.user.updateMany({ where: { applicationId, userId }, data: { updatedAt: now } });
        await events.append(tx, applicationId, [{ type: 'locator.removed', userId, data: { locatorId, locator: found.locator } }]);
        return true;
      });
    },

    async takenLocators(applicationId: string, locators: string[]): Promise<string[]> {
      const rows = await db.userLocator.findMany({ where: { applicationId, locator: { in: locators } }, select: { locator: true } });
      return rows.map((row) => row.locator);
    },

    async deletedSince(applicationId: string, userId: string, since: Date): Promise<Date | null> {
      const row = await db.deletedUser.findUnique({ where: { applicationId_userId: { applicationId, userId } } });
      return row !== null && row.deletedAt > since ? row.deletedAt : null;
    },

    /**
     * Deletes a user, its locators and records its id as deleted, in one transaction; `inTransaction`
     * runs first inside it (other features' clean-up). False when the user does not exist.
     */
    async deleteUser(
      applicationId: string,
      userId: string,
      now: Date,
      inTransaction: (tx: DbTransaction, user: DeletedUserRow) => Promise<void>,
    ): Promise<boolean> {
      return db.$transaction(async (tx) => {
        // Lock the row first: a concurrent deletion of the same user waits here, then finds nothing.
        const id = await lockUserRow(tx, applicationId, userId, now);
        if (id === null) return false;
        await inTransaction(tx, { id, applicationId, userId });
        await events.append(tx, applicationId, [{ type: 'user.deleted', userId, data: {} }]);
        await tx.userLocator.deleteMany({ where: { userInternalId: id } });
        await tx.user.delete({ where: { id } });
        await tx.deletedUser.upsert({
          where: { applicationId_userId: { applicationId, userId } },
          create: { applicationId, userId, deletedAt: now },
          update: { deletedAt: now },
        });
        return true;
      });
    },
  };
}

export type UsersStore = ReturnType<typeof createUsersStore>;
