// Users and locators (docs/users.md): the rules. Inputs arrive parsed (rules.ts, locators.ts); this
// service decides what may be stored, maps constraint violations to API errors, and runs the
// deletion hooks through which other features clean up after a user.
import { randomUUID } from 'node:crypto';
import { ApiError } from '../../errors.ts';
import type { Clock } from '../../platform/clock.ts';
import type { DbTransaction } from '../../platform/db.ts';
import { uniqueViolationFields } from '../../platform/dialect.ts';
import { domainId } from '../../platform/ids.ts';
import { toWireLocator, toWireUser } from '../../wire/users.ts';
import type { StoredUser } from './types.ts';
import type { MetadataCondition } from '../metadata/rules.ts';
import type { Emit } from '../events/service.ts';
import { broadcaster, type Bus } from '../../platform/bus.ts';
import type { Locator, LocatorInput } from './locators.ts';
import { generateUserId } from './rules.ts';
import type { DeletedUserRow, DeletionRecord, LoggedDeletion, UsersStore } from './store.ts';
import { randomAlphanumeric } from '../../platform/ids.ts';
import { pageOf } from '../../platform/paging.ts';
import { UsersCache } from './cache.ts';

/** A user holds at most this many locators (a Locus limit; docs/decisions.md). */
export const MAX_LOCATORS_PER_USER = 20;
/** A deleted user's id cannot be used again for this long (docs/users.md). */
export const DELETED_ID_QUARANTINE_MS = 30 * 24 * 60 * 60 * 1000;

export interface NewUser {
  /** Null: generate one. */
  userId: string | null;
  screenName: string;
  locators: LocatorInput[];
}

export interface UsersPage {
  users: StoredUser[];
  /** The last user id of this page when more follow, else null. */
  nextAfter: string | null;
}

/**
 * Runs inside the deletion transaction, before the user row goes: a feature that keeps per-user
 * rows deletes them here, emitting its events with the deletion's (and a failure rolls the whole
 * deletion back).
 */
export type UserDeletionHook = (tx: DbTransaction, emit: Emit, user: DeletedUserRow) => Promise<void>;
/** Runs after the deletion committed: for state outside the database (kv, caches, streams). */
export type UserDeletedListener = (user: DeletedUserRow) => void | Promise<void>;
/** Runs when users changed (here, once committed, or on another instance): for caches of what they hold. */
export type UsersChangedListener = (applicationId: string, userIds: string[]) => void;

/** 404 naming every id of `missing` (one, or several from a comma list). */
export function usersNotFound(missing: string[]): ApiError {
  return new ApiError('entity_not_found', `No user ${missing.map((id) => `"${id}"`).join(', ')} in this application`, {
    entityType: 'user',
    entityLocator: missing.join(','),
  });
}

export function userNotFound(userId: string): ApiError {
  return usersNotFound([userId]);
}

function locatorsTaken(locators: string[]): ApiError {
  return new ApiError('duplicate_entity', 'A locator already belongs to a user of this application', { entityType: 'userLocator', locators });
}

export const USERS_DELETED_TOPIC = 'users.deleted';
export const USERS_CHANGED_TOPIC = 'users.changed';

/** Users known to exist, per process (the sudo check and presence reads skip the database). */
export const MAX_KNOWN_USERS = 100_000;

export class UsersService {
  private readonly store: UsersStore;
  private readonly deletionHooks: UserDeletionHook[] = [];
  private readonly deletedListeners: UserDeletedListener[] = [];
  private readonly changedListeners: UsersChangedListener[] = [];
  /**
   * `applicationId:userId` of users seen to exist, oldest first. A user id names one user for
   * good (a deleted id is quarantined), so an entry goes stale only by deletion, which removes it.
   */
  private readonly known = new Set<string>();
  /** Bumped by every deletion: an existence answer read across one is not remembered. */
  private deletions = 0;

  /** Whole users as last read (src/modules/users/cache.ts): what user reads answer from. */
  private readonly cache = new UsersCache();

  /** Tells the other instances sharing the bus that a user was deleted (they drop what they cached). */
  private readonly announceDeletion: (user: DeletedUserRow) => void;
  /** Tells the other instances sharing the bus that users changed (they drop their cached copies). */
  private readonly announceChange: (change: { applicationId: string; userIds: string[] }) => void;

  constructor(private readonly deps: { store: UsersStore; clock: Clock; bus: Bus; log?: { error(obj: unknown, msg: string): void } }) {
    this.store = deps.store;
    this.announceDeletion = broadcaster<DeletedUserRow>(deps.bus, USERS_DELETED_TOPIC, (user) => void this.forget(user));
    this.announceChange = broadcaster<{ applicationId: string; userIds: string[] }>(deps.bus, USERS_CHANGED_TOPIC, (change) =>
      this.evictChanged(change.applicationId, change.userIds),
    );
  }

  /** Registers the eviction of what another feature caches per user (profiles), on every change here and elsewhere. */
  onChanged(listener: UsersChangedListener): void {
    this.changedListeners.push(listener);
  }

  /**
   * Every writer of what a user read returns (screen name, locators, suspension, the updatedAt a
   * profile write moves) calls this once its change committed (or may have), before it answers:
   * the users' cached copies go here at once, and on the other instances as the bus delivers.
   */
  changed(applicationId: string, userIds: string[]): void {
    this.evictChanged(applicationId, userIds);
    this.announceChange({ applicationId, userIds });
  }

  private evictChanged(applicationId: string, userIds: string[]): void {
    this.cache.evict(applicationId, userIds);
    for (const listener of this.changedListeners) listener(applicationId, userIds);
  }

  /**
   * Runs a write to the user (here, or a feature's that moves what a user read returns), then
   * calls `changed` whatever came of it: a failed write may still have committed.
   */
  async changing<T>(applicationId: string, userId: string, write: () => Promise<T>): Promise<T> {
    try {
      return await write();
    } finally {
      this.changed(applicationId, [userId]);
    }
  }

  /** Registers clean-up that must commit or roll back with the user's deletion. */
  onDelete(hook: UserDeletionHook): void {
    this.deletionHooks.push(hook);
  }

  /** Registers clean-up of state outside the database, run after a deletion commits. */
  onDeleted(listener: UserDeletedListener): void {
    this.deletedListeners.push(listener);
  }

  async exists(applicationId: string, userId: string): Promise<boolean> {
    if (userId.length > 72) return false;
    if (this.known.has(`${applicationId}:${userId}`)) return true;
    const deletions = this.deletions;
    const found = await this.store.userExists(applicationId, userId);
    if (found && deletions === this.deletions) this.remember(applicationId, userId);
    return found;
  }

  /** The ids among `userIds` that name no user of the application (in first-seen order). */
  async missing(applicationId: string, userIds: string[]): Promise<string[]> {
    const unknown = [...new Set(userIds)].filter((id) => !this.known.has(`${applicationId}:${id}`));
    if (unknown.length === 0) return [];
    const deletions = this.deletions;
    const found = new Set(await this.store.existingUserIds(applicationId, unknown));
    if (deletions === this.deletions) for (const id of found) this.remember(applicationId, id);
    return unknown.filter((id) => !found.has(id));
  }

  private remember(applicationId: string, userId: string): void {
    if (this.known.size >= MAX_KNOWN_USERS) {
      const oldest = this.known.values().next();
      if (!oldest.done) this.known.delete(oldest.value);
    }
    this.known.add(`${applicationId}:${userId}`);
  }

  async create(applicationId: string, input: NewUser): Promise<StoredUser> {
    const now = new Date(this.deps.clock.now());
    const userId = input.userId ?? generateUserId();
    if (input.userId !== null) {
      const deletedAt = await this.store.deletedSince(applicationId, userId, new Date(now.getTime() - DELETED_ID_QUARANTINE_MS));
      if (deletedAt) {
        throw new ApiError('duplicate_entity', `The user id "${userId}" belonged to a deleted user and cannot be reused yet`, {
          entityType: 'user',
          entityLocator: userId,
          reusableAt: deletedAt.getTime() + DELETED_ID_QUARANTINE_MS,
        });
      }
    }
    const locators = input.locators.map(({ locator, verificationStatus }) => ({ id: domainId(), applicationId, locator: locator.locator, verificationStatus }));
    const user: StoredUser = {
      id: randomUUID(),
      applicationId,
      userId,
      screenName: input.screenName,
      createdAt: now,
      updatedAt: now,
      suspended: false,
      locators,
    };
    try {
      await this.store.insertUser(user, [{ type: 'user.created', userId, data: { user: toWireUser(user) } }]);
      return user;
    } catch (error) {
      const fields = uniqueViolationFields(error);
      if (fields?.includes('locator'))
        throw locatorsTaken(
          await this.store.takenLocators(
            applicationId,
            locators.map((l) => l.locator),
          ),
        );
      if (fields !== null) throw new ApiError('duplicate_entity', `A user with id "${userId}" already exists`, { entityType: 'user', entityLocator: userId });
      throw error;
    }
  }

  /** The user, from the cache when this instance has read it since its last change. */
  async get(applicationId: string, userId: string): Promise<StoredUser> {
    const cached = this.cache.user(applicationId, userId);
    if (cached) return cached;
    const generation = this.cache.generation;
    const user = await this.store.findUser(applicationId, userId);
    if (!user) throw userNotFound(userId);
    this.cache.remember([user], generation);
    return user;
  }

  /** These users in the order of `userIds`, skipping ids that name no user. */
  async getMany(applicationId: string, userIds: string[]): Promise<StoredUser[]> {
    const byId = new Map<string, StoredUser>();
    const unread: string[] = [];
    for (const id of new Set(userIds)) {
      const cached = this.cache.user(applicationId, id);
      if (cached) byId.set(id, cached);
      else unread.push(id);
    }
    if (unread.length > 0) {
      const generation = this.cache.generation;
      for (const user of this.cache.remember(await this.store.findUsers(applicationId, unread), generation)) byId.set(user.userId, user);
    }
    return userIds.flatMap((id) => byId.get(id) ?? []);
  }

  /** The owners of these locators, each once, in the order of the first locator that found them. */
  async findByLocators(applicationId: string, locators: Locator[]): Promise<StoredUser[]> {
    const wanted = [...new Set(locators.map((l) => l.locator))];
    const byLocator = new Map<string, StoredUser>();
    const unread: string[] = [];
    for (const locator of wanted) {
      const cached = this.cache.owner(applicationId, locator);
      if (cached) byLocator.set(locator, cached);
      else unread.push(locator);
    }
    /** Users just read, by internal id: they win over a cached copy of the same user. */
    const fresh = new Map<string, StoredUser>();
    if (unread.length > 0) {
      const generation = this.cache.generation;
      const rows = await this.store.findByLocators(applicationId, unread);
      this.cache.remember(
        rows.map((row) => row.user),
        generation,
      );
      for (const { matched, user } of rows) {
        fresh.set(user.id, user);
        for (const locator of matched) byLocator.set(locator, user);
      }
    }
    const users = new Map<string, StoredUser>();
    for (const locator of wanted) {
      const user = byLocator.get(locator);
      if (user && !users.has(user.id)) users.set(user.id, fresh.get(user.id) ?? user);
    }
    return [...users.values()];
  }

  /** One page of the application's users; with `metadata`, only those whose metadata meets every condition. */
  async list(applicationId: string, options: { limit: number; after: string | null; metadata?: MetadataCondition[] }): Promise<UsersPage> {
    const rows = await this.store.listUsers(applicationId, options.after, options.limit + 1, options.metadata);
    const users = rows.slice(0, options.limit);
    return { users, nextAfter: rows.length > options.limit ? (users.at(-1)?.userId ?? null) : null };
  }

  /** Users whose screen name starts with `prefix` (the operator console's search). */
  async searchByScreenName(applicationId: string, prefix: string, limit: number): Promise<StoredUser[]> {
    return this.store.searchByScreenName(applicationId, prefix, limit);
  }

  async count(applicationId: string, metadata: MetadataCondition[] = []): Promise<number> {
    return this.store.countUsers(applicationId, metadata);
  }

  /** Screen names in request order (repeats included); 404 naming every unknown id. */
  async screenNames(applicationId: string, userIds: string[]): Promise<string[]> {
    const rows = await this.store.screenNames(applicationId, [...new Set(userIds)]);
    const byId = new Map(rows.map((row) => [row.userId, row.screenName]));
    const missing = [...new Set(userIds.filter((id) => !byId.has(id)))];
    if (missing.length > 0) throw usersNotFound(missing);
    return userIds.map((id) => byId.get(id) as string);
  }

  async setScreenName(applicationId: string, userId: string, screenName: string): Promise<void> {
    const now = new Date(this.deps.clock.now());
    if (!(await this.changing(applicationId, userId, () => this.store.updateScreenName(applicationId, userId, screenName, now)))) throw userNotFound(userId);
  }

  async addLocator(applicationId: string, userId: string, input: LocatorInput): Promise<void> {
    const row = { id: domainId(), locator: input.locator.locator, verificationStatus: input.verificationStatus };
    let outcome: Awaited<ReturnType<UsersStore['insertLocator']>>;
    try {
      const added = { type: 'locator.added', userId, data: { locator: toWireLocator({ ...row, applicationId }) } } as const;
      const now = new Date(this.deps.clock.now());
      outcome = await this.changing(applicationId, userId, () => this.store.insertLocator(applicationId, userId, row, MAX_LOCATORS_PER_USER, now, [added]));
    } catch (error) {
      if (uniqueViolationFields(error)?.includes('locator')) throw locatorsTaken([row.locator]);
      throw error;
    }
    if (outcome === null) throw userNotFound(userId);
    if (outcome === 'limit') {
      throw new ApiError('limit_exceeded', `A user may hold at most ${MAX_LOCATORS_PER_USER} locators`, { limit: MAX_LOCATORS_PER_USER });
    }
  }

  async removeLocator(applicationId: string, userId: string, userLocatorId: string): Promise<void> {
    const now = new Date(this.deps.clock.now());
    if (await this.changing(applicationId, userId, () => this.store.deleteLocator(applicationId, userId, userLocatorId, now))) return;
    if (!(await this.store.userExists(applicationId, userId))) throw userNotFound(userId);
    throw new ApiError('entity_not_found', `User "${userId}" has no locator "${userLocatorId}"`, { entityType: 'userLocator', entityLocator: userLocatorId });
  }

  /**
   * Deletes the user and its locators (freed for reuse), runs the deletion hooks, quarantines the
   * id, and records who deleted it and why in the application's deletions log.
   */
  async delete(applicationId: string, userId: string, record: DeletionRecord = { by: 'system', reason: null, feedback: null }): Promise<void> {
    let deleted: DeletedUserRow | null = null;
    this.deletions += 1;
    const logged = { ...record, id: randomAlphanumeric(22) };
    const found = await this.store.deleteUser(applicationId, userId, new Date(this.deps.clock.now()), logged, async (tx, emit, user) => {
      for (const hook of this.deletionHooks) await hook(tx, emit, user);
      deleted = user;
    });
    this.deletions += 1;
    this.known.delete(`${applicationId}:${userId}`);
    this.cache.evict(applicationId, [userId]);
    if (!found || deleted === null) throw userNotFound(userId);
    this.announceDeletion(deleted);
    await this.forget(deleted);
  }

  /** The deletions log, newest first (`after`: the last entry of the previous page). */
  async deletionsLog(applicationId: string, options: { limit: number; after: { deletedAt: Date; id: string } | null }) {
    const { items, next } = pageOf<LoggedDeletion>(await this.store.deletions(applicationId, options.after, options.limit + 1), options.limit);
    return { deletions: items, next };
  }

  /** Drops what this instance holds about a deleted user (its own deletions, and other instances'). */
  private async forget(user: DeletedUserRow): Promise<void> {
    this.deletions += 1;
    this.known.delete(`${user.applicationId}:${user.userId}`);
    this.cache.evict(user.applicationId, [user.userId]);
    for (const listener of this.deletedListeners) {
      try {
        await listener(user);
      } catch (error) {
        // The deletion is committed; a failing listener must not turn it into an error response.
        this.deps.log?.error({ err: error, userId: user.userId }, 'a user-deleted listener failed');
      }
    }
  }
}
