// Entity metadata of users (docs/social.md): at most three keys per user, read back in the mitter.io
// typed form; a user's metadata goes with the user.
import { ApiError } from '../../errors.ts';
import type { Clock } from '../../platform/clock.ts';
import { userNotFound, type UsersService } from '../users/service.ts';
import type { MetadataValue } from './rules.ts';
import type { MetadataStore, StoredMetadata } from './store.ts';

/** A user holds at most this many metadata keys. */
export const MAX_METADATA_KEYS = 3;

export class MetadataService {
  constructor(private readonly deps: { store: MetadataStore; clock: Clock; users: UsersService }) {}

  async set(applicationId: string, userId: string, key: string, value: MetadataValue): Promise<void> {
    const outcome = await this.deps.store.upsert(applicationId, userId, key, value, MAX_METADATA_KEYS, new Date(this.deps.clock.now()));
    if (outcome === null) throw userNotFound(userId);
    if (outcome === 'limit') {
      throw new ApiError('limit_exceeded', `A user holds at most ${MAX_METADATA_KEYS} metadata keys; remove one first`, { limit: MAX_METADATA_KEYS, key });
    }
  }

  async list(applicationId: string, userId: string): Promise<StoredMetadata[]> {
    if (!(await this.deps.users.exists(applicationId, userId))) throw userNotFound(userId);
    return (await this.deps.store.ofUsers(applicationId, [userId])).get(userId) ?? [];
  }

  async get(applicationId: string, userId: string, key: string): Promise<StoredMetadata> {
    const found = (await this.list(applicationId, userId)).find((entry) => entry.key === key);
    if (!found) throw new ApiError('entity_not_found', `User "${userId}" has no metadata "${key}"`, { entityType: 'metadata', entityLocator: key });
    return found;
  }

  /** Removing a key the user does not hold changes nothing. */
  async remove(applicationId: string, userId: string, key: string): Promise<void> {
    if (!(await this.deps.users.exists(applicationId, userId))) throw userNotFound(userId);
    await this.deps.store.remove(applicationId, userId, key);
  }

  /** Metadata of several users (a listing with shouldFetchMetadata), one query. */
  async ofUsers(applicationId: string, userIds: string[]): Promise<Map<string, StoredMetadata[]>> {
    if (userIds.length === 0) return new Map();
    return this.deps.store.ofUsers(applicationId, userIds);
  }
}
