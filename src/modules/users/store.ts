// Persistence of users, their locators and the ids of deleted users. No rules here: the service
// decides, the store reads and writes. Times come from the caller's clock.
//
// A whole user (user + locators) is one join; the lookups on every request's path (a user by id,
// whether a user exists) are compiled once and run as prepared statements (src/platform/db.ts).
import { sql, type Selectable, type SelectQueryBuilder } from 'kysely';
import type { DB } from '../../generated/db.ts';
import type { Db, DbTransaction, Queries } from '../../platform/db.ts';
import { prepared } from '../../platform/db.ts';
import { readTime } from '../../platform/dialect.ts';
import type { Emit, EventRecorder } from '../events/service.ts';
import type { EventDraft } from '../events/store.ts';
import type { StoredUser } from './types.ts';
import type { MetadataCondition } from '../metadata/rules.ts';

interface UserLocatorRow {
  id: string;
  applicationId: string;
  userId: string;
  screenName: string;
  createdAt: Date | string;
  updatedAt: Date | string;
  suspendedAt: Date | string | null;
  locatorId: string | null;
  locator: string | null;
  verificationStatus: string | null;
}

/** The columns of a user joined with its locators (`u`, `l`): one UserLocatorRow per locator. */
const USER_LOCATOR_COLUMNS = [
  'u.id',
  'u.applicationId',
  'u.userId',
  'u.screenName',
  'u.createdAt',
  'u.updatedAt',
  'u.suspendedAt',
  'l.id as locatorId',
  'l.locator',
  'l.verificationStatus',
] as const;

/** Users joined with their locators (order them by `l.position`, `l.createdAt`, `l.id`: given, then added). */
function usersWithLocators(query: Queries) {
  return query.selectFrom('User as u').leftJoin('UserLocator as l', 'l.userInternalId', 'u.id').select(USER_LOCATOR_COLUMNS);
}

/** Folds join rows (one per locator, or one with null locator columns) into users, in row order. */
function foldUsers(rows: UserLocatorRow[]): StoredUser[] {
  const users = new Map<string, StoredUser>();
  for (const row of rows) {
    let user = users.get(row.id);
    if (!user) {
      user = {
        id: row.id,
        applicationId: row.applicationId,
        userId: row.userId,
        screenName: row.screenName,
        createdAt: readTime(row.createdAt),
        updatedAt: readTime(row.updatedAt),
        suspended: row.suspendedAt !== null,
        locators: [],
      };
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

/** Why and by whom a user was deleted (the application's deletions log). */
export interface DeletionRecord {
  by: 'self' | 'system';
  reason: string | null;
  feedback: string | null;
}

export interface LoggedDeletion extends DeletionRecord {
  id: string;
  userId: string;
  deletedAt: Date;
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
export async function lockUserRow(db: Db, tx: DbTransaction, applicationId: string, userId: string, touchedAt: Date | null): Promise<string | null> {
  if (touchedAt === null) {
    const row = await db.dialect
      .forUpdate(tx.selectFrom('User').select('id').where('applicationId', '=', applicationId).where('userId', '=', userId))
      .executeTakeFirst();
    return row?.id ?? null;
  }
  const row = await tx
    .updateTable('User')
    .set({ updatedAt: db.dialect.time(touchedAt) })
    .where('applicationId', '=', applicationId)
    .where('userId', '=', userId)
    .returning('id')
    .executeTakeFirst();
  return row?.id ?? null;
}

/** Every write records its events (docs/events.md) with the change, through events.transaction. */
export function createUsersStore(db: Db, events: EventRecorder) {
  const { query, dialect } = db;
  const userById = prepared(db, (q, applicationId: string, userId: string) =>
    usersWithLocators(q)
      .where('u.applicationId', '=', applicationId)
      .where('u.userId', '=', userId)
      .orderBy('l.position')
      .orderBy('l.createdAt')
      .orderBy('l.id'),
  );
  const userExists = prepared(db, (q, applicationId: string, userId: string) =>
    q.selectFrom('User').select('id').where('applicationId', '=', applicationId).where('userId', '=', userId),
  );
  /** Up to 100 users by id (compiled once per list length: a contacts page is one shape). */
  const usersByIds = prepared(db, (q, applicationId: string, userIds: readonly string[]) =>
    usersWithLocators(q)
      .where('u.applicationId', '=', applicationId)
      .where('u.userId', 'in', userIds)
      .orderBy('u.id')
      .orderBy('l.position')
      .orderBy('l.createdAt')
      .orderBy('l.id'),
  );
  const existingUserIds = prepared(db, (q, applicationId: string, userIds: readonly string[]) =>
    q.selectFrom('User').select(['userId', 'screenName']).where('applicationId', '=', applicationId).where('userId', 'in', userIds),
  );
  const usersByLocators = prepared(db, (q, applicationId: string, locators: readonly string[]) =>
    usersWithLocators(q)
      .innerJoin('UserLocator as m', 'm.userInternalId', 'u.id')
      .select('m.locator as matched')
      .where('m.applicationId', '=', applicationId)
      .where('m.locator', 'in', locators)
      .orderBy('u.id')
      .orderBy('l.position')
      .orderBy('l.createdAt')
      .orderBy('l.id'),
  );

  /** The users a page query on `User` selects (already ordered by user id and limited), with their locators. */
  async function pageWithLocators(page: SelectQueryBuilder<DB, 'User', Selectable<DB['User']>>): Promise<StoredUser[]> {
    const rows = await db.rows<UserLocatorRow>(
      query
        .selectFrom(page.as('u'))
        .leftJoin('UserLocator as l', 'l.userInternalId', 'u.id')
        .select(USER_LOCATOR_COLUMNS)
        .orderBy('u.userId')
        .orderBy('l.position')
        .orderBy('l.createdAt')
        .orderBy('l.id'),
    );
    return foldUsers(rows);
  }

  /** Narrows a query on `User` to the users whose metadata meets every condition (docs/social.md). */
  function withMetadata<O>(select: SelectQueryBuilder<DB, 'User', O>, conditions: MetadataCondition[]): SelectQueryBuilder<DB, 'User', O> {
    let narrowed = select;
    for (const condition of conditions) {
      narrowed = narrowed.where((eb) =>
        eb.exists(
          eb
            .selectFrom('UserMetadata as m')
            .select('m.key')
            .whereRef('m.applicationId', '=', 'User.applicationId')
            .whereRef('m.userId', '=', 'User.userId')
            .where('m.key', '=', condition.key)
            .where('m.type', '=', condition.value.type)
            .where(
              condition.operator === 'Contains' && condition.value.type === 'string'
                ? dialect.contains('m.value', condition.value.text)
                : sql<boolean>`m.value = ${condition.value.text}`,
            ),
        ),
      );
    }
    return narrowed;
  }

  return {
    /**
     * The user and its locators, created at `user.createdAt`, in one transaction with `drafts` (its
     * events); unique indexes reject taken ids and locators.
     */
    async insertUser(user: StoredUser, drafts: EventDraft[]): Promise<void> {
      const at = dialect.time(user.createdAt);
      await events.transaction(user.applicationId, async (tx, emit) => {
        await tx
          .insertInto('User')
          .values({ id: user.id, applicationId: user.applicationId, userId: user.userId, screenName: user.screenName, createdAt: at, updatedAt: at })
          .execute();
        if (user.locators.length > 0) {
          await tx
            .insertInto('UserLocator')
            .values(
              user.locators.map((l, position) => ({
                id: l.id,
                locator: l.locator,
                verificationStatus: l.verificationStatus,
                position,
                applicationId: user.applicationId,
                userInternalId: user.id,
                createdAt: at,
              })),
            )
            .execute();
        }
        emit(...drafts);
      });
    },

    async findUser(applicationId: string, userId: string): Promise<StoredUser | null> {
      return foldUsers(await userById(applicationId, userId))[0] ?? null;
    },

    /** The users among these ids (at most a few thousand), in no particular order. */
    async findUsers(applicationId: string, userIds: string[]): Promise<StoredUser[]> {
      if (userIds.length === 0) return [];
      const found: StoredUser[] = [];
      // Bounded IN lists: SQLite and PostgreSQL both cap bound parameters per statement.
      for (let i = 0; i < userIds.length; i += 100) found.push(...foldUsers(await usersByIds(applicationId, userIds.slice(i, i + 100))));
      return found;
    },

    /** On the path of every sudo request: one prepared statement. */
    async userExists(applicationId: string, userId: string): Promise<boolean> {
      return (await userExists(applicationId, userId)).length > 0;
    },

    /** Which of these user ids exist. */
    async existingUserIds(applicationId: string, userIds: string[]): Promise<string[]> {
      if (userIds.length === 0) return [];
      return (await existingUserIds(applicationId, userIds)).map((row) => row.userId);
    },

    /** The users owning any of these normalised locators (at most 100), each with the locators it matched. */
    async findByLocators(applicationId: string, locators: string[]): Promise<Array<{ matched: string[]; user: StoredUser }>> {
      if (locators.length === 0) return [];
      const rows = await usersByLocators(applicationId, locators);
      const matched = new Map<string, Set<string>>();
      for (const row of rows) matched.set(row.id, (matched.get(row.id) ?? new Set()).add(row.matched));
      return foldUsers(rows).map((user) => ({ matched: [...(matched.get(user.id) ?? [])], user }));
    },

    /**
     * Users whose screen name starts with `prefix` (case-insensitive for ASCII on SQLite, fully on
     * PostgreSQL), in user-id order; `take` at most. No index serves this: it scans the
     * application's users, so it is for the operator console, not for the API.
     */
    async searchByScreenName(applicationId: string, prefix: string, take: number): Promise<StoredUser[]> {
      return pageWithLocators(
        query
          .selectFrom('User')
          .selectAll()
          .where('applicationId', '=', applicationId)
          .where(sql<boolean>`lower(substr("screenName", 1, ${prefix.length})) = lower(${prefix})`)
          .orderBy('userId')
          .limit(take),
      );
    },

    /** One page in user-id order, starting after `after`; `take` users at most; only users whose metadata meets every condition. */
    async listUsers(applicationId: string, after: string | null, take: number, conditions: MetadataCondition[] = []): Promise<StoredUser[]> {
      let page = withMetadata(query.selectFrom('User').selectAll().where('applicationId', '=', applicationId), conditions);
      if (after !== null) page = page.where('userId', '>', after);
      return pageWithLocators(page.orderBy('userId').limit(take));
    },

    async countUsers(applicationId: string, conditions: MetadataCondition[] = []): Promise<number> {
      const [row] = await db.rows<{ count: number }>(
        withMetadata(
          query
            .selectFrom('User')
            .select((eb) => eb.fn.countAll<number>().as('count'))
            .where('applicationId', '=', applicationId),
          conditions,
        ),
      );
      return Number(row?.count ?? 0);
    },

    async screenNames(applicationId: string, userIds: string[]): Promise<Array<{ userId: string; screenName: string }>> {
      if (userIds.length === 0) return [];
      return existingUserIds(applicationId, userIds);
    },

    /** False when the user does not exist. */
    async updateScreenName(applicationId: string, userId: string, screenName: string, now: Date): Promise<boolean> {
      return events.transaction(applicationId, async (tx, emit) => {
        const updated = await tx
          .updateTable('User')
          .set({ screenName, updatedAt: dialect.time(now) })
          .where('applicationId', '=', applicationId)
          .where('userId', '=', userId)
          .executeTakeFirst();
        if (updated.numUpdatedRows !== 1n) return false;
        emit({ type: 'user.screenname', userId, data: { screenName } });
        return true;
      });
    },

    /**
     * Adds a locator unless the user already has `limit`. Touching the user row first serialises
     * concurrent additions for one user (a row lock on PostgreSQL, the write lock on SQLite), so the
     * count cannot be raced past the limit. Null when the user does not exist.
     */
    async insertLocator(
      applicationId: string,
      userId: string,
      locator: NewLocatorRow,
      limit: number,
      now: Date,
      drafts: EventDraft[],
    ): Promise<'added' | 'limit' | null> {
      return events.transaction(applicationId, async (tx, emit) => {
        const userInternalId = await lockUserRow(db, tx, applicationId, userId, now);
        if (userInternalId === null) return null;
        const held = await tx
          .selectFrom('UserLocator')
          .select((eb) => [eb.fn.countAll<number>().as('count'), eb.fn.max('position').as('last')])
          .where('userInternalId', '=', userInternalId)
          .executeTakeFirstOrThrow();
        if (Number(held.count) >= limit) return 'limit';
        const position = (held.last === null ? -1 : Number(held.last)) + 1;
        await tx
          .insertInto('UserLocator')
          .values({ ...locator, position, applicationId, userInternalId, createdAt: dialect.time(now) })
          .execute();
        emit(...drafts);
        return 'added';
      });
    },

    /** False when no such locator belongs to that user. */
    async deleteLocator(applicationId: string, userId: string, locatorId: string, now: Date): Promise<boolean> {
      return events.transaction(applicationId, async (tx, emit) => {
        const userInternalId = await lockUserRow(db, tx, applicationId, userId, null);
        if (userInternalId === null) return false;
        const removed = await tx
          .deleteFrom('UserLocator')
          .where('id', '=', locatorId)
          .where('userInternalId', '=', userInternalId)
          .returning('locator')
          .executeTakeFirst();
        if (removed === undefined) return false;
        await tx
          .updateTable('User')
          .set({ updatedAt: dialect.time(now) })
          .where('id', '=', userInternalId)
          .execute();
        emit({ type: 'locator.removed', userId, data: { locatorId, locator: removed.locator } });
        return true;
      });
    },

    async takenLocators(applicationId: string, locators: string[]): Promise<string[]> {
      if (locators.length === 0) return [];
      const rows = await db.rows<{ locator: string }>(
        query.selectFrom('UserLocator').select('locator').where('applicationId', '=', applicationId).where('locator', 'in', locators),
      );
      return rows.map((row) => row.locator);
    },

    /** The deletions log, newest first, after the cursor `(deletedAt, id)`; `take` at most. */
    async deletions(applicationId: string, after: { deletedAt: Date; id: string } | null, take: number): Promise<LoggedDeletion[]> {
      let select = query
        .selectFrom('UserDeletion')
        .select(['id', 'userId', 'by', 'reason', 'feedback', 'deletedAt'])
        .where('applicationId', '=', applicationId);
      if (after !== null) {
        const at = dialect.time(after.deletedAt);
        select = select.where((eb) => eb.or([eb('deletedAt', '<', at), eb.and([eb('deletedAt', '=', at), eb('id', '<', after.id)])]));
      }
      const rows = await db.rows<{ id: string; userId: string; by: string; reason: string | null; feedback: string | null; deletedAt: Date | string }>(
        select.orderBy('deletedAt', 'desc').orderBy('id', 'desc').limit(take),
      );
      return rows.map((row) => ({ ...row, by: row.by === 'self' ? 'self' : 'system', deletedAt: readTime(row.deletedAt) }));
    },

    async deletedSince(applicationId: string, userId: string, since: Date): Promise<Date | null> {
      const [row] = await db.rows<{ deletedAt: Date | string }>(
        query.selectFrom('DeletedUser').select('deletedAt').where('applicationId', '=', applicationId).where('userId', '=', userId),
      );
      if (row === undefined) return null;
      const deletedAt = readTime(row.deletedAt);
      return deletedAt > since ? deletedAt : null;
    },

    /**
     * Deletes a user, its locators and records its id as deleted, in one transaction; `inTransaction`
     * runs first inside it (other features' clean-up). False when the user does not exist.
     */
    async deleteUser(
      applicationId: string,
      userId: string,
      now: Date,
      record: DeletionRecord & { id: string },
      inTransaction: (tx: DbTransaction, emit: Emit, user: DeletedUserRow) => Promise<void>,
    ): Promise<boolean> {
      return events.transaction(applicationId, async (tx, emit) => {
        // Lock the row first: a concurrent deletion of the same user waits here, then finds nothing.
        const id = await lockUserRow(db, tx, applicationId, userId, now);
        if (id === null) return false;
        await inTransaction(tx, emit, { id, applicationId, userId });
        emit({ type: 'user.deleted', userId, data: {} });
        await tx.deleteFrom('UserLocator').where('userInternalId', '=', id).execute();
        await tx.deleteFrom('User').where('id', '=', id).execute();
        await tx
          .insertInto('DeletedUser')
          .values({ applicationId, userId, deletedAt: dialect.time(now) })
          .onConflict((oc) => oc.columns(['applicationId', 'userId']).doUpdateSet({ deletedAt: dialect.time(now) }))
          .execute();
        await tx
          .insertInto('UserDeletion')
          .values({ id: record.id, applicationId, userId, by: record.by, reason: record.reason, feedback: record.feedback, deletedAt: dialect.time(now) })
          .execute();
        return true;
      });
    },
  };
}

export type UsersStore = ReturnType<typeof createUsersStore>;
