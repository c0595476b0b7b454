// Blocks, contacts and privacy (docs/social.md), and the one answer every read path asks of them:
// what may this caller see of these users? (`viewpoint`).
//
// The answer sits on every read (presence of 10 users, a contact list), so what it needs is cached
// per instance: who blocks a viewer, and each user's privacy, suspension and contact list. Every
// change evicts the entries it touches here before it answers, and on the other instances through
// the bus; a generation counter keeps a load that raced an eviction from caching what it read.
import { ApiError } from '../../errors.ts';
import type { Principal } from '../../auth/principal.ts';
import type { Clock } from '../../platform/clock.ts';
import { broadcaster, type Bus } from '../../platform/bus.ts';
import { pageOf } from '../../platform/paging.ts';
import { userNotFound, usersNotFound, type UsersService } from '../users/service.ts';
import type { SocialFacts, SocialStore } from './store.ts';
import type { Privacy, Visibility } from './types.ts';

/** A user blocks at most this many users. */
export const MAX_BLOCKS_PER_USER = 10_000;
/** A contact list holds at most this many users. */
export const MAX_CONTACTS_PER_USER = 5_000;
/** Entries cached per kind before the oldest go (they reload from the database). */
export const MAX_CACHED_SOCIAL = 100_000;

export const SOCIAL_EVICTED_TOPIC = 'social.evicted';

interface Eviction {
  applicationId: string;
  /** Users whose blocker sets changed (they were blocked or unblocked). */
  viewers?: string[];
  /** Users whose privacy, suspension or contact list changed. */
  users?: string[];
  /** Drop everything (a deletion touches many users' entries). */
  all?: boolean;
}

interface UserEntry {
  facts: SocialFacts;
  /** The user's contacts, loaded the first time a "contacts" visibility needs them. */
  contacts: Set<string> | null;
}

/**
 * What one caller may see of a set of users. Blocks and privacy hide things from users acting
 * with their own token; `.system`, sudo and a user looking at itself see the truth. A suspended
 * user has no presence for anyone.
 */
export interface Viewpoint {
  /** Profile attributes: hidden when the user blocks the viewer. */
  profile(userId: string): boolean;
  /** Presence (and its events). */
  presence(userId: string): boolean;
  lastSeen(userId: string): boolean;
  /** Whether a locator lookup finds the user. */
  finds(userId: string): boolean;
}

const KEY = (applicationId: string, userId: string) => `${applicationId}\u0000${userId}`;

function setBounded<V>(map: Map<string, V>, key: string, value: V): void {
  if (map.size >= MAX_CACHED_SOCIAL && !map.has(key)) {
    const oldest = map.keys().next();
    if (!oldest.done) map.delete(oldest.value);
  }
  map.set(key, value);
}

export class SocialService {
  readonly #store: SocialStore;
  readonly #blockers = new Map<string, Set<string>>();
  readonly #users = new Map<string, UserEntry>();
  #generation = 0;
  readonly #announce: (eviction: Eviction) => void;

  constructor(private readonly deps: { store: SocialStore; clock: Clock; bus: Bus; users: UsersService }) {
    this.#store = deps.store;
    this.#announce = broadcaster<Eviction>(deps.bus, SOCIAL_EVICTED_TOPIC, (eviction) => this.#evictLocally(eviction));
    deps.users.onDelete(async (tx, emit, user) => this.#store.forgetUser(tx, emit, user.applicationId, user.userId));
    deps.users.onDeleted((user) => this.evict({ applicationId: user.applicationId, all: true }));
  }

  #now(): Date {
    return new Date(this.deps.clock.now());
  }

  /** Drops cached entries here and on every instance sharing the bus. */
  evict(eviction: Eviction): void {
    this.#evictLocally(eviction);
    this.#announce(eviction);
  }

  #evictLocally(eviction: Eviction): void {
    this.#generation += 1;
    if (eviction.all) {
      this.#blockers.clear();
      this.#users.clear();
      return;
    }
    for (const id of eviction.viewers ?? []) this.#blockers.delete(KEY(eviction.applicationId, id));
    for (const id of eviction.users ?? []) this.#users.delete(KEY(eviction.applicationId, id));
  }

  // ---- blocks -------------------------------------------------------------------------------------

  async block(applicationId: string, blockerId: string, blockedId: string): Promise<void> {
    if (blockerId === blockedId) {
      throw new ApiError('invalid_entity', 'A user cannot block itself', { field: 'userId', location: 'path', rule: 'not_self' });
    }
    const outcome = await this.#store.block(applicationId, blockerId, blockedId, MAX_BLOCKS_PER_USER, this.#now());
    if (outcome === 'no_blocker') throw userNotFound(blockerId);
    if (outcome === 'no_target') throw userNotFound(blockedId);
    if (outcome === 'limit') {
      throw new ApiError('limit_exceeded', `A user may block at most ${MAX_BLOCKS_PER_USER} users`, { limit: MAX_BLOCKS_PER_USER });
    }
    if (outcome === 'blocked') this.evict({ applicationId, viewers: [blockedId] });
  }

  async unblock(applicationId: string, blockerId: string, blockedId: string): Promise<void> {
    if (blockerId === blockedId) {
      throw new ApiError('invalid_entity', 'A user cannot block itself', { field: 'userId', location: 'path', rule: 'not_self' });
    }
    const missing = await this.deps.users.missing(applicationId, [blockerId, blockedId]);
    if (missing.length > 0) throw usersNotFound(missing);
    if (await this.#store.unblock(applicationId, blockerId, blockedId)) this.evict({ applicationId, viewers: [blockedId] });
  }

  /** Whom the user blocks, or who blocks the user, oldest block first. */
  async blockList(applicationId: string, userId: string, direction: 'blocking' | 'blockedBy'): Promise<string[]> {
    if (!(await this.deps.users.exists(applicationId, userId))) throw userNotFound(userId);
    return this.#store.blockList(applicationId, userId, direction);
  }

  /** The users who block `viewerId` (cached). */
  async blockersOf(applicationId: string, viewerId: string): Promise<ReadonlySet<string>> {
    const cached = this.#cachedBlockersOf(applicationId, viewerId);
    if (cached) return cached;
    const generation = this.#generation;
    const blockers = new Set(await this.#store.blockersOf(applicationId, viewerId));
    if (generation === this.#generation) setBounded(this.#blockers, KEY(applicationId, viewerId), blockers);
    return blockers;
  }

  #cachedBlockersOf(applicationId: string, viewerId: string): ReadonlySet<string> | undefined {
    return this.#blockers.get(KEY(applicationId, viewerId));
  }

  // ---- contacts -----------------------------------------------------------------------------------

  /** Adds users to the owner's contacts (each must exist; the owner itself cannot be one). */
  async addContacts(applicationId: string, ownerId: string, contactIds: string[]): Promise<void> {
    const ids = [...new Set(contactIds)];
    if (ids.includes(ownerId)) {
      throw new ApiError('invalid_entity', 'A user cannot be its own contact', { field: 'userIds', location: 'path', rule: 'not_self' });
    }
    const missing = await this.deps.users.missing(applicationId, ids);
    if (missing.length > 0) throw usersNotFound(missing);
    const outcome = await this.#store.addContacts(applicationId, ownerId, ids, MAX_CONTACTS_PER_USER, this.#now());
    if (outcome === 'no_owner') throw userNotFound(ownerId);
    if (outcome === 'limit') {
      throw new ApiError('limit_exceeded', `A contact list holds at most ${MAX_CONTACTS_PER_USER} users`, { limit: MAX_CONTACTS_PER_USER });
    }
    if (outcome.added.length > 0) this.evict({ applicationId, users: [ownerId] });
  }

  /** Removes users from the owner's contacts; ids that are not in the list are ignored. */
  async removeContacts(applicationId: string, ownerId: string, contactIds: string[]): Promise<void> {
    if (!(await this.deps.users.exists(applicationId, ownerId))) throw userNotFound(ownerId);
    const removed = await this.#store.removeContacts(applicationId, ownerId, [...new Set(contactIds)]);
    if (removed.length > 0) this.evict({ applicationId, users: [ownerId] });
  }

  /** The owner's whole contact list (an open stream's starting point). */
  async contactIds(applicationId: string, ownerId: string): Promise<string[]> {
    return this.#store.contactIds(applicationId, ownerId);
  }

  async contactsPage(applicationId: string, ownerId: string, options: { limit: number; after: string | null }) {
    const { items, next } = pageOf(await this.#store.contactsPage(applicationId, ownerId, options.after, options.limit + 1), options.limit);
    return { contactIds: items, nextAfter: next };
  }

  async countContacts(applicationId: string, ownerId: string): Promise<number> {
    return this.#store.countContacts(applicationId, ownerId);
  }

  // ---- privacy ------------------------------------------------------------------------------------

  async privacy(applicationId: string, userId: string): Promise<Privacy> {
    const entry = (await this.#entries(applicationId, [userId])).get(userId);
    if (!entry) throw userNotFound(userId);
    return { presence: entry.facts.presence, lastSeen: entry.facts.lastSeen };
  }

  async setPrivacy(applicationId: string, userId: string, privacy: Privacy): Promise<void> {
    if (!(await this.#store.setPrivacy(applicationId, userId, privacy))) throw userNotFound(userId);
    this.evict({ applicationId, users: [userId] });
  }

  // ---- what a caller may see ----------------------------------------------------------------------

  /** Privacy, suspension (and contacts, once needed) of these users; unknown ids are absent. */
  async #entries(applicationId: string, userIds: readonly string[]): Promise<Map<string, UserEntry>> {
    const found = new Map<string, UserEntry>();
    const missing: string[] = [];
    for (const id of userIds) {
      const entry = this.#users.get(KEY(applicationId, id));
      if (entry) found.set(id, entry);
      else missing.push(id);
    }
    if (missing.length === 0) return found;
    const generation = this.#generation;
    const facts = await this.#store.factsOf(applicationId, [...new Set(missing)]);
    for (const [id, fact] of facts) {
      const entry: UserEntry = { facts: fact, contacts: null };
      found.set(id, entry);
      if (generation === this.#generation) setBounded(this.#users, KEY(applicationId, id), entry);
    }
    return found;
  }

  async #contactsOf(applicationId: string, userId: string, entry: UserEntry): Promise<Set<string>> {
    if (entry.contacts) return entry.contacts;
    const generation = this.#generation;
    const contacts = new Set(await this.#store.contactIds(applicationId, userId));
    if (generation === this.#generation) entry.contacts = contacts;
    return contacts;
  }

  /**
   * Viewpoint.profile and Viewpoint.finds alone (one predicate: whose profile the caller reads and
   * whom its lookups find), for a route that needs nothing else: it reads no privacy or suspension,
   * and nothing at all for a caller that is not a user acting with its own token. Given at once,
   * without a promise, unless the caller's blockers must be read from the database.
   */
  unblocked(principal: Principal): UserFilter | Promise<UserFilter> {
    const viewer = tokenViewer(principal);
    if (principal.applicationId === null || viewer === null) return ALL;
    const cached = this.#cachedBlockersOf(principal.applicationId, viewer);
    if (cached) return unblockedBy(viewer, cached);
    return this.blockersOf(principal.applicationId, viewer).then((blockers) => unblockedBy(viewer, blockers));
  }

  /** What `principal` may see of `userIds` (see Viewpoint). */
  async viewpoint(principal: Principal, userIds: readonly string[]): Promise<Viewpoint> {
    const applicationId = principal.applicationId;
    if (applicationId === null || userIds.length === 0) return EVERYTHING;
    const entries = await this.#entries(applicationId, userIds);
    const viewer = tokenViewer(principal);
    if (viewer === null) {
      // The truth, except that suspended users have no presence.
      if (![...entries.values()].some((entry) => entry.facts.suspended)) return EVERYTHING;
      const live = (id: string) => entries.get(id)?.facts.suspended !== true;
      return { profile: ALL, finds: ALL, presence: live, lastSeen: live };
    }
    const unblocked = unblockedBy(viewer, await this.blockersOf(applicationId, viewer));
    // "contacts": visible to the users the target has in its contacts.
    const inContactsOf = new Set<string>();
    for (const [id, entry] of entries) {
      if (id !== viewer && (entry.facts.presence === 'contacts' || entry.facts.lastSeen === 'contacts')) {
        if ((await this.#contactsOf(applicationId, id, entry)).has(viewer)) inContactsOf.add(id);
      }
    }
    const sees = (id: string, visibility: Visibility | undefined) =>
      id === viewer || visibility === undefined || visibility === 'everyone' || (visibility === 'contacts' && inContactsOf.has(id));
    return {
      profile: unblocked,
      finds: unblocked,
      // `sees` holds for the viewer itself, so these are: not suspended, not blocking, and visible.
      presence: (id) => {
        const facts = entries.get(id)?.facts;
        return facts?.suspended !== true && unblocked(id) && sees(id, facts?.presence);
      },
      lastSeen: (id) => {
        const facts = entries.get(id)?.facts;
        return facts?.suspended !== true && unblocked(id) && sees(id, facts?.lastSeen);
      },
    };
  }
}

/** The user a principal sees as (blocks and privacy apply): a user acting with its own token; else null. */
const tokenViewer = (principal: Principal): string | null => (principal.kind === 'user' && principal.via === 'token' ? principal.userId : null);

/** Whether a user passes (is visible, is found). */
export type UserFilter = (userId: string) => boolean;

const ALL: UserFilter = () => true;

/** The viewer itself and every user that does not block it: whose profile it reads, whom it finds. */
const unblockedBy =
  (viewer: string, blockers: ReadonlySet<string>) =>
  (id: string): boolean =>
    id === viewer || !blockers.has(id);

const EVERYTHING: Viewpoint = { profile: ALL, presence: ALL, lastSeen: ALL, finds: ALL };
