// Passwords and password login (docs/tokens.md): setting a password (proving the current one when
// users change their own), and login by user id or locator with a per-subject lockout.
import { ApiError } from '../../errors.ts';
import type { Clock } from '../../platform/clock.ts';
import type { Kv } from '../../platform/kv.ts';
import type { Locator } from '../users/locators.ts';
import { userNotFound, type UsersService } from '../users/service.ts';
import type { PasswordHasher } from './passwords.ts';
import type { ClientInfo, IssuedToken, TokensService } from './service.ts';
import type { TokensStore } from './store.ts';

/** Failures for one user from one client address that lock that pair out. */
export const LOGIN_MAX_FAILURES = 5;
/** Failures for one user from all addresses together that lock the user out everywhere. */
export const LOGIN_MAX_USER_FAILURES = 100;
export const LOGIN_WINDOW_MS = 15 * 60_000;
export const LOGIN_LOCK_MS = 15 * 60_000;

/**
 * Verified in place of a password hash when the user is unknown or has none, so every failed
 * login costs one Argon2id verification with the same parameters. It hashes a random secret that
 * was thrown away: nothing verifies against it.
 */
const UNKNOWN_USER_HASH = '$argon2id$v=19$m=19456,t=2,p=1$hWqYH7rav+YjuoXAXVTqfQ$Vh82dOoJ/a1QWCiFKdMYmMjgUYk9jabsMEOkLe8FmZ4';

export interface PasswordsServiceDeps {
  store: TokensStore;
  tokens: TokensService;
  users: UsersService;
  hasher: PasswordHasher;
  kv: Kv;
  clock: Clock;
}

export class PasswordsService {
  readonly #deps: PasswordsServiceDeps;
  readonly #store: TokensStore;

  constructor(deps: PasswordsServiceDeps) {
    this.#deps = deps;
    this.#store = deps.store;
  }

  /**
   * Sets a user's password. A user changing its own must prove the current one when it has one.
   * `revokeOtherTokens` revokes every token of the user except `keepTokenId` (the presenting one).
   */
  async setPassword(
    applicationId: string,
    userId: string,
    input: { password: string; currentPassword: string | null; revokeOtherTokens: boolean },
    actor: { self: boolean; keepTokenId: string | null },
  ): Promise<void> {
    const stored = await this.#store.passwordHash(applicationId, userId);
    if (stored === null) throw userNotFound(userId);
    if (actor.self && stored.passwordHash !== null) {
      const proven = input.currentPassword !== null && (await this.#deps.hasher.verify(stored.passwordHash, input.currentPassword));
      if (!proven) throw new ApiError('invalid_credentials', 'currentPassword is missing or wrong');
    }
    const passwordHash = await this.#deps.hasher.hash(input.password);
    const revoked = await this.#store.setPasswordHash(
      { applicationId, userId, userInternalId: stored.userInternalId },
      passwordHash,
      new Date(this.#deps.clock.now()),
      input.revokeOtherTokens ? { except: actor.keepTokenId } : null,
    );
    this.#deps.tokens.evict(applicationId, userId, revoked);
  }

  /**
   * Password login by user id or locator. Unknown user, no password and wrong password are the
   * same 401 after the same work (one Argon2 verification). Failures are counted per (user, client
   * address) and per user: five from one address in 15 minutes lock that address out of that user
   * for 15 minutes, so a stranger cannot lock the user out of its own devices; a hundred from all
   * addresses together lock the user for everyone (a distributed guess). Locked: 429 with
   * Retry-After, before any password work.
   */
  async login(
    applicationId: string,
    subject: { userId: string } | { locator: Locator },
    password: string,
    options: { force: boolean },
    client: ClientInfo,
  ): Promise<IssuedToken> {
    const settings = await this.#deps.tokens.settings(applicationId);
    if (!settings.passwordLogin) {
      throw new ApiError('missing_privilege', 'Password login is not enabled for this application', { missingPrivileges: ['auth.login'] });
    }
    const userId = 'userId' in subject ? subject.userId : ((await this.#deps.users.findByLocators(applicationId, [subject.locator]))[0]?.userId ?? null);
    const stored = userId === null ? null : await this.#store.passwordHash(applicationId, userId);
    // One counter per user whichever identifier names it; unknown identifiers count on their own.
    const counterSubject = stored !== null ? `user:${stored.userInternalId}` : `unknown:${'userId' in subject ? subject.userId : subject.locator.locator}`;
    const userKey = `${applicationId}:${counterSubject}`;
    const pairKey = `${userKey}:from:${client.address ?? 'unknown'}`;
    const [userLockedUntil, pairLockedUntil] = await this.#deps.kv.getMany([`login-lock:${userKey}`, `login-lock:${pairKey}`]);
    const now = this.#deps.clock.now();
    const lockedUntil = Math.max(Number(userLockedUntil ?? 0), Number(pairLockedUntil ?? 0));
    if (lockedUntil > now) {
      const retryAfter = Math.ceil((lockedUntil - now) / 1000);
      throw new ApiError(
        'too_many_attempts',
        'Too many failed logins: try again later',
        { retryAfterSeconds: retryAfter },
        { 'retry-after': String(retryAfter) },
      );
    }
    const passwordHash = stored?.passwordHash ?? UNKNOWN_USER_HASH;
    const matches = await this.#deps.hasher.verify(passwordHash, password);
    if (!matches || stored?.passwordHash === null || stored === null || userId === null) {
      await this.#countFailure(pairKey, LOGIN_MAX_FAILURES, now);
      await this.#countFailure(userKey, LOGIN_MAX_USER_FAILURES, now);
      throw new ApiError('invalid_credentials', 'Unknown user or wrong password');
    }
    // The user's total stays: a success from one address does not reset a guess from many.
    await this.#deps.kv.delete(`login-failures:${pairKey}`);
    return this.#deps.tokens.issue(applicationId, userId, { ttl: null, force: options.force }, client);
  }

  /** Counts a failure against `key`; at `limit` in the window, locks it for LOGIN_LOCK_MS. */
  async #countFailure(key: string, limit: number, now: number): Promise<void> {
    const failures = await this.#deps.kv.increment(`login-failures:${key}`, LOGIN_WINDOW_MS);
    if (failures >= limit) {
      await this.#deps.kv.setIfAbsent(`login-lock:${key}`, String(now + LOGIN_LOCK_MS), LOGIN_LOCK_MS);
      await this.#deps.kv.delete(`login-failures:${key}`);
    }
  }
}
