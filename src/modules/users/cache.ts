// Whole users (with their locators) as this instance last read them, by user id and by locator:
// the user reads on every request's path (`/v1/users/me`, a user by id, a lookup by locators) skip
// the database once a user has been read.
//
// Every committed change to what a user read returns (screen name, locators, suspension, the
// updatedAt a profile write moves, deletion) evicts the user here before the writer answers, and
// on the other instances through the bus (UsersService.changed). A generation counter, bumped by
// every eviction, keeps a read that raced one from caching what it read.
import { EvictedCache } from '../../platform/cache.ts';
import type { StoredUser } from './types.ts';

/** Users cached per instance before the oldest go (they reload from the database). */
export const MAX_CACHED_USERS = 50_000;
/** Locators indexed per instance: a user holds two or three on average, at most 20. */
export const MAX_CACHED_LOCATORS = 2 * MAX_CACHED_USERS;

/** Deep-frozen: a cached user is shared by every request that reads it. */
function frozen(user: StoredUser): StoredUser {
  for (const locator of user.locators) Object.freeze(locator);
  Object.freeze(user.locators);
  return Object.freeze(user);
}

export class UsersCache {
  readonly #byId = new EvictedCache<StoredUser>({ entries: MAX_CACHED_USERS });
  /**
   * Locator → user id, per application, checked against the user's locators on every read (so it
   * needs no eviction of its own: a stale entry fails the check).
   */
  readonly #byLocator = new EvictedCache<string>({ entries: MAX_CACHED_LOCATORS });

  /** Read before a database read starts; hand it back to `remember`. */
  get generation(): number {
    return this.#byId.generation;
  }

  user(applicationId: string, userId: string): StoredUser | undefined {
    return this.#byId.get(applicationId, userId);
  }

  /** The cached user holding `locator` (normalised), if this instance read it and it still holds it. */
  owner(applicationId: string, locator: string): StoredUser | undefined {
    const userId = this.#byLocator.get(applicationId, locator);
    if (userId === undefined) return undefined;
    const user = this.#byId.get(applicationId, userId);
    return user?.locators.some((held) => held.locator === locator) ? user : undefined;
  }

  /**
   * Caches users read from the database, unless an eviction came between `generation` (taken
   * before the read) and now: what was read may predate that change.
   */
  remember(users: StoredUser[], generation: number): StoredUser[] {
    if (generation !== this.#byId.generation) return users;
    for (const user of users) {
      this.#byId.set(user.applicationId, user.userId, frozen(user), generation);
      for (const { locator } of user.locators) this.#byLocator.set(user.applicationId, locator, user.userId, this.#byLocator.generation);
    }
    return users;
  }

  /** Drops these users (their locator entries fail the owner check from now on). */
  evict(applicationId: string, userIds: Iterable<string>): void {
    this.#byId.evict(applicationId, userIds);
  }
}
