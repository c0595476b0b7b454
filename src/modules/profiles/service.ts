// Profiles (docs/profiles.md): attribute defs and the values users hold. Inputs arrive parsed (rules.ts);
// this service finds each key's def (standard, cached, or stored), checks every value before
// anything is written, and maps storage outcomes to API errors.
import { ApiError, invalidEntity, type Where } from '../../errors.ts';
import type { Clock } from '../../platform/clock.ts';
import { EvictedCache } from '../../platform/cache.ts';
import { uniqueViolationFields } from '../../platform/dialect.ts';
import type { AttributeDefinition, StoredAttribute } from './types.ts';
import { userNotFound, type UsersService } from '../users/service.ts';
import { checkAttribute, type AttributeInput } from './rules.ts';
import { STANDARD_ATTRIBUTE_DEFS, standardDef } from './standard.ts';
import type { ProfilesStore, ProfileWrite } from './store.ts';

/** A profile holds at most this many attributes (a Locus limit; docs/decisions.md). */
export const MAX_PROFILE_ATTRIBUTES = 100;
/** An application defines at most this many attributes of its own (besides the standard ones). */
export const MAX_ATTRIBUTE_DEFS = 500;

/** Set: the profile becomes exactly the patch. Diff: each attribute replaces the one with its key. */
export type PatchType = 'Set' | 'Diff';

function defExists(key: string, standard: boolean): ApiError {
  return new ApiError(
    'duplicate_entity',
    standard ? `"${key}" is a standard attribute: it needs no def` : `An attribute def "${key}" already exists; defs cannot be changed`,
    { entityType: 'attributeDef', entityLocator: key },
  );
}

/** Whole profiles cached per instance before the oldest go (they reload from the database). */
export const MAX_CACHED_PROFILES = 50_000;
/** What cached profiles may hold in all, in characters of keys and values (a profile over a tenth of it is not cached). */
export const MAX_CACHED_PROFILE_CHARS = 32 * 1024 * 1024;

/** What a cached profile costs, roughly: its characters and a little per attribute. */
const profileWeight = (attributes: readonly StoredAttribute[]) =>
  attributes.reduce((sum, attribute) => sum + attribute.key.length + attribute.contentType.length + attribute.value.length + 64, 64);

export class ProfilesService {
  private readonly store: ProfilesStore;
  /** Defs found in the database, per application. Defs never change or disappear, so hits never go stale. */
  private readonly defCache = new Map<string, Map<string, AttributeDefinition>>();
  /**
   * Whole profiles as last read, what profile reads answer from. A profile write evicts its user
   * through `users.changed` (here at once, on the other instances as the bus delivers), a
   * deletion through `users.onDeleted`.
   */
  private readonly profiles = new EvictedCache<readonly StoredAttribute[]>({
    entries: MAX_CACHED_PROFILES,
    maxWeight: MAX_CACHED_PROFILE_CHARS,
    weight: profileWeight,
  });

  constructor(private readonly deps: { store: ProfilesStore; clock: Clock; users: UsersService }) {
    // A user's attributes go with its row (foreign key, on delete cascade): no deletion hook.
    this.store = deps.store;
    deps.users.onChanged((applicationId, userIds) => this.profiles.evict(applicationId, userIds));
    deps.users.onDeleted((user) => this.profiles.evict(user.applicationId, [user.userId]));
  }

  private now(): Date {
    return new Date(this.deps.clock.now());
  }

  async createDef(applicationId: string, def: AttributeDefinition): Promise<void> {
    if (standardDef(def.key)) throw defExists(def.key, true);
    if ((await this.store.countDefs(applicationId)) >= MAX_ATTRIBUTE_DEFS) {
      throw new ApiError('limit_exceeded', `An application may define at most ${MAX_ATTRIBUTE_DEFS} attributes`, { limit: MAX_ATTRIBUTE_DEFS });
    }
    try {
      await this.store.insertDef(applicationId, def, this.now());
    } catch (error) {
      if (uniqueViolationFields(error) !== null) throw defExists(def.key, false);
      throw error;
    }
  }

  /** The standard defs, then the application's own, oldest first. */
  async listDefs(applicationId: string): Promise<AttributeDefinition[]> {
    return [...STANDARD_ATTRIBUTE_DEFS, ...(await this.store.listDefs(applicationId))];
  }

  async getDef(applicationId: string, key: string): Promise<AttributeDefinition> {
    const def = (await this.defsFor(applicationId, [key])).get(key);
    if (!def) throw new ApiError('entity_not_found', `No attribute def "${key}"`, { entityType: 'attributeDef', entityLocator: key });
    return def;
  }

  /** The defs of these keys that exist (standard or the application's). */
  private async defsFor(applicationId: string, keys: string[]): Promise<Map<string, AttributeDefinition>> {
    const cached = this.defCache.get(applicationId) ?? new Map<string, AttributeDefinition>();
    const found = new Map<string, AttributeDefinition>();
    const unknown: string[] = [];
    for (const key of keys) {
      const def = standardDef(key) ?? cached.get(key);
      if (def) found.set(key, def);
      else unknown.push(key);
    }
    if (unknown.length > 0) {
      for (const def of await this.store.findDefs(applicationId, unknown)) {
        found.set(def.key, def);
        cached.set(def.key, def);
      }
      this.defCache.set(applicationId, cached);
    }
    return found;
  }

  /** Every attribute of the user, in key order: at once, without a promise, when cached. */
  profile(applicationId: string, userId: string): readonly StoredAttribute[] | Promise<readonly StoredAttribute[]> {
    return this.profiles.get(applicationId, userId) ?? this.#load(applicationId, userId);
  }

  async #load(applicationId: string, userId: string): Promise<readonly StoredAttribute[]> {
    const generation = this.profiles.generation;
    const attributes = await this.store.readProfile(applicationId, userId, null);
    if (attributes === null) throw userNotFound(userId);
    return this.#keep(applicationId, userId, attributes, generation);
  }

  /** A whole profile as read from the database, frozen (cached values are shared) and cached unless a change raced the read. */
  #keep(applicationId: string, userId: string, attributes: StoredAttribute[], generation: number): readonly StoredAttribute[] {
    const kept = Object.freeze(attributes.map((attribute) => Object.freeze(attribute)));
    this.profiles.set(applicationId, userId, kept, generation);
    return kept;
  }

  /** The attributes of these keys that the user has, in the order asked. */
  async attributes(applicationId: string, userId: string, keys: string[]): Promise<StoredAttribute[]> {
    const attributes = this.profiles.get(applicationId, userId) ?? (await this.store.readProfile(applicationId, userId, keys));
    if (attributes === null) throw userNotFound(userId);
    const byKey = new Map(attributes.map((attribute) => [attribute.key, attribute]));
    return keys.flatMap((key) => byKey.get(key) ?? []);
  }

  /**
   * Checks every attribute against its def, then writes them all in one transaction, or nothing.
   * `where` names each input for the error's diagnostics.
   */
  async write(applicationId: string, userId: string, inputs: Array<{ input: AttributeInput; where: Where }>, patchType: PatchType): Promise<void> {
    const seen = new Set<string>();
    for (const { input, where } of inputs) {
      if (seen.has(input.key)) throw invalidEntity(where, 'duplicate', `the key "${input.key}" appears twice`);
      seen.add(input.key);
    }
    const defs = await this.defsFor(applicationId, [...new Set(inputs.map(({ input }) => input.key))]);
    const attributes = inputs.map(({ input, where }) => checkAttribute(input, defs.get(input.key), where));
    // A profile write moves the user's updatedAt: cached copies of the user, and of its profile
    // (through users.onChanged), go once it is done.
    const outcome = await this.deps.users.changing(applicationId, userId, () =>
      this.store.writeAttributes(applicationId, userId, attributes, { replace: patchType === 'Set', limit: MAX_PROFILE_ATTRIBUTES }, this.now()),
    );
    this.raise(outcome, userId);
  }

  /** Removes these keys from the profile; keys it does not hold are ignored. */
  async remove(applicationId: string, userId: string, keys: string[]): Promise<void> {
    this.raise(await this.deps.users.changing(applicationId, userId, () => this.store.deleteAttributes(applicationId, userId, keys, this.now())), userId);
  }

  /** Maps a write's outcome to its error; a write that went through has committed its event. */
  private raise(outcome: ProfileWrite, userId: string): void {
    if (outcome === null) throw userNotFound(userId);
    if (outcome === 'limit') {
      throw new ApiError('limit_exceeded', `A profile holds at most ${MAX_PROFILE_ATTRIBUTES} attributes`, { limit: MAX_PROFILE_ATTRIBUTES });
    }
  }

  /**
   * For user reads with `withProfileAttributes`: the attributes of each user (by internal id), in
   * key order; `keys` null: all. Whole profiles come from the cache where it holds them, the others
   * from one query, which caches the whole profiles it reads of users that have attributes (a user
   * without any may have been deleted since it was read: its profile read must then be a 404).
   */
  async profilesOf(
    applicationId: string,
    users: ReadonlyArray<{ id: string; userId: string }>,
    keys: string[] | null,
  ): Promise<Map<string, readonly StoredAttribute[]>> {
    const found = new Map<string, readonly StoredAttribute[]>();
    const wanted = keys === null ? null : new Set(keys);
    const missing: Array<{ id: string; userId: string }> = [];
    for (const user of users) {
      const cached = this.profiles.get(applicationId, user.userId);
      if (cached === undefined) missing.push(user);
      else found.set(user.id, wanted === null ? cached : cached.filter((attribute) => wanted.has(attribute.key)));
    }
    if (missing.length === 0) return found;
    const generation = this.profiles.generation;
    const read = await this.store.attributesOf(
      missing.map((user) => user.id),
      keys,
    );
    for (const user of missing) {
      const attributes = read.get(user.id);
      if (attributes === undefined) continue;
      found.set(user.id, keys === null ? this.#keep(applicationId, user.userId, attributes, generation) : attributes);
    }
    return found;
  }
}
