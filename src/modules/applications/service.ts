// Applications and their access keys: creation, listing, settings, key rotation, and the cached
// access-key lookup that every signed request goes through.
import { randomBytes } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import type { AccessKeyRecord } from '../../auth/principal.ts';
import type { Clock } from '../../platform/clock.ts';
import { deriveKey, hmacSha1Key, open, seal } from '../../platform/crypto.ts';
import { DOMAIN_ID_PATTERN, domainId, randomAlphanumeric } from '../../platform/ids.ts';
import { applyAssignments, resolveSettings, storedOverrides, type ApplicationSettings } from './settings.ts';
import { ActiveKeyLimitError, type ApplicationsStore } from './store.ts';

export const MAX_ACTIVE_ACCESS_KEYS = 3;
export const ACCESS_KEY_LENGTH = 16;
export const ACCESS_SECRET_BYTES = 128;
export const DEFAULT_APPLICATION_NAME = 'default';
/** Bounds the access-key cache; past it the cache starts over (it refills from the database). */
const MAX_CACHED_KEYS = 10_000;

export interface Credentials {
  applicationId: string;
  name: string;
  accessKey: string;
  /** base64 of 128 random bytes: shown once, never stored in the clear. */
  accessSecret: string;
}

export interface Application {
  applicationId: string;
  name: string;
  settings: ApplicationSettings;
  createdAt: Date;
}

export interface ApplicationListing {
  applicationId: string;
  name: string;
  createdAt: string;
  accessKeys: Array<{ accessKey: string; createdAt: string; revokedAt: string | null }>;
}

/** A problem with what the operator asked for (unknown application, bad setting, key limit). */
export class ApplicationRequestError extends Error {
  override name = 'ApplicationRequestError';
}

export function validateApplicationName(name: string): string {
  const trimmed = name.trim();
  // eslint-disable-next-line no-control-regex -- control characters are what it refuses
  if (trimmed.length < 1 || trimmed.length > 128 || /[\u0000-\u001f\u007f]/.test(trimmed)) {
    throw new ApplicationRequestError('the application name must be 1 to 128 characters without control characters');
  }
  return trimmed;
}

export interface ApplicationsServiceOptions {
  store: ApplicationsStore;
  masterKey: Buffer;
  clock: Clock;
  log?: FastifyBaseLogger;
}

/** Published (by the CLI, through Redis) when applications, keys or settings changed. */
export const APPLICATIONS_CHANGED_TOPIC = 'applications.changed';

export class ApplicationsService {
  readonly #store: ApplicationsStore;
  readonly #secretsKey: Buffer;
  readonly #clock: Clock;
  readonly #log: FastifyBaseLogger | undefined;
  readonly #keys = new Map<string, AccessKeyRecord | null>();
  readonly #applications = new Map<string, Application | null>();
  /** Bumped on every invalidation, so a lookup that raced an invalidation does not cache stale data. */
  #generation = 0;
  #revision: string | null = null;
  #watcher: NodeJS.Timeout | null = null;

  constructor(options: ApplicationsServiceOptions) {
    this.#store = options.store;
    this.#secretsKey = deriveKey(options.masterKey, 'access-key-secrets');
    this.#clock = options.clock;
    this.#log = options.log;
  }

  #newKey(): { accessKey: string; accessSecret: string; secretEncrypted: string } {
    const accessKey = randomAlphanumeric(ACCESS_KEY_LENGTH);
    const secretBytes = randomBytes(ACCESS_SECRET_BYTES);
    return {
      accessKey,
      accessSecret: secretBytes.toString('base64'),
      secretEncrypted: seal(this.#secretsKey, secretBytes, `access-key:${accessKey}`),
    };
  }

  async create(name: string): Promise<Credentials> {
    const application = { id: domainId(), name: validateApplicationName(name) };
    const key = this.#newKey();
    await this.#store.insertApplication(application, key);
    this.invalidate();
    return { applicationId: application.id, name: application.name, accessKey: key.accessKey, accessSecret: key.accessSecret };
  }

  /** Creates the `default` application on the very first start of an empty database; else null. */
  async bootstrapDefault(): Promise<Credentials | null> {
    const application = { id: domainId(), name: DEFAULT_APPLICATION_NAME };
    const key = this.#newKey();
    if (!(await this.#store.insertDefaultApplicationOnce(application, key))) return null;
    this.invalidate();
    return { applicationId: application.id, name: application.name, accessKey: key.accessKey, accessSecret: key.accessSecret };
  }

  async list(): Promise<ApplicationListing[]> {
    return (await this.#store.listApplications()).map((app) => ({
      applicationId: app.id,
      name: app.name,
      createdAt: app.createdAt.toISOString(),
      accessKeys: app.accessKeys.map((k) => ({
        accessKey: k.accessKey,
        createdAt: k.createdAt.toISOString(),
        revokedAt: k.revokedAt ? k.revokedAt.toISOString() : null,
      })),
    }));
  }

  /** The cached application without waiting (undefined: not cached; null: known not to exist). */
  cached(applicationId: string): Application | null | undefined {
    return this.#applications.get(applicationId);
  }

  /** Cached; null for an unknown application. */
  async get(applicationId: string): Promise<Application | null> {
    if (this.#applications.has(applicationId)) return this.#applications.get(applicationId) ?? null;
    const generation = this.#generation;
    const row = DOMAIN_ID_PATTERN.test(applicationId) ? await this.#store.findApplication(applicationId) : null;
    const application = row ? { applicationId: row.id, name: row.name, settings: resolveSettings(row.settings), createdAt: row.createdAt } : null;
    if (generation === this.#generation && this.#applications.size < MAX_CACHED_KEYS) this.#applications.set(applicationId, application);
    return application;
  }

  async #require(applicationId: string): Promise<Application> {
    const application = await this.get(applicationId);
    if (!application) throw new ApplicationRequestError(`no application ${applicationId}`);
    return application;
  }

  async updateSettings(applicationId: string, assignments: string[]): Promise<ApplicationSettings> {
    const application = await this.#require(applicationId);
    let settings: ApplicationSettings;
    try {
      settings = applyAssignments(application.settings, assignments);
    } catch (error) {
      throw new ApplicationRequestError((error as Error).message);
    }
    if (!(await this.#store.updateSettings(applicationId, storedOverrides(settings)))) {
      throw new ApplicationRequestError(`no application ${applicationId}`);
    }
    this.invalidate();
    return settings;
  }

  async rename(applicationId: string, name: string): Promise<void> {
    if (!(await this.#store.rename(applicationId, validateApplicationName(name)))) throw new ApplicationRequestError(`no application ${applicationId}`);
    this.invalidate();
  }

  async addKey(applicationId: string): Promise<Credentials> {
    const key = this.#newKey();
    let outcome: 'added' | 'no_application';
    try {
      outcome = await this.#store.insertAccessKey(applicationId, key, MAX_ACTIVE_ACCESS_KEYS);
    } catch (error) {
      if (error instanceof ActiveKeyLimitError) throw new ApplicationRequestError(`${error.message}: revoke one first`);
      throw error;
    }
    if (outcome === 'no_application') throw new ApplicationRequestError(`no application ${applicationId}`);
    this.invalidate();
    const application = await this.#require(applicationId);
    return { applicationId, name: application.name, accessKey: key.accessKey, accessSecret: key.accessSecret };
  }

  async revokeKey(applicationId: string, accessKey: string): Promise<void> {
    if (!(await this.#store.revokeAccessKey(applicationId, accessKey, new Date(this.#clock.now())))) {
      throw new ApplicationRequestError(`application ${applicationId} has no active access key ${accessKey}`);
    }
    this.invalidate();
  }

  /**
   * The active key with its decrypted secret, or null. Served from memory once warm (unknown keys
   * too), so signed requests cost no database query; dropped on every change to keys or settings.
   */
  async findAccessKey(accessKey: string): Promise<AccessKeyRecord | null> {
    const cached = this.#keys.get(accessKey);
    if (cached !== undefined) return cached;
    const generation = this.#generation;
    const row = /^[A-Za-z0-9]{1,64}$/.test(accessKey) ? await this.#store.findActiveAccessKey(accessKey) : null;
    const record = row
      ? {
          accessKey: row.accessKey,
          applicationId: row.applicationId,
          secret: hmacSha1Key(open(this.#secretsKey, row.secretEncrypted, `access-key:${row.accessKey}`)),
        }
      : null;
    if (generation === this.#generation) {
      if (this.#keys.size >= MAX_CACHED_KEYS) this.#keys.clear();
      this.#keys.set(accessKey, record);
    }
    return record;
  }

  invalidate(): void {
    this.#generation += 1;
    this.#keys.clear();
    this.#applications.clear();
  }

  /** Drops the caches when another process (the CLI, another instance) changed applications. */
  async refreshIfChanged(): Promise<boolean> {
    const revision = await this.#store.readRevision();
    if (revision === this.#revision) return false;
    this.#revision = revision;
    this.invalidate();
    return true;
  }

  /** Polls the shared revision marker; changes made elsewhere take effect within `intervalMs`. */
  watch(intervalMs: number): void {
    if (this.#watcher) return;
    this.#watcher = setInterval(() => {
      this.refreshIfChanged().catch((error: unknown) => this.#log?.warn({ err: error }, 'could not poll the applications revision'));
    }, intervalMs);
    this.#watcher.unref();
  }

  stopWatching(): void {
    if (this.#watcher) clearInterval(this.#watcher);
    this.#watcher = null;
  }
}
