// User tokens and sessions (docs/tokens.md): issue, verify, list, extend, revoke, logout links and
// session limits (passwords and login: login.ts).
//
// Verification on the common path needs no database query: token state (expiry, revocation, last
// use) is cached in-process, and every change this process makes (revoke, extend, user deletion)
// evicts the entry before it answers, so the very next request sees it. A generation counter stops
// a load that raced an eviction from caching stale state. `lastUsedAt` is written behind, at most
// once a minute per token. A user's active tokens are cached the same way for listings (every
// issue, extension and revocation evicts the user's list), for a minute at most: other instances'
// last uses reach the database that often.
import { createHash } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import { ApiError } from '../../errors.ts';
import type { Clock } from '../../platform/clock.ts';
import { randomAlphanumeric } from '../../platform/ids.ts';
import type { ApplicationsService } from '../applications/service.ts';
import type { ApplicationSettings } from '../applications/settings.ts';
import { userNotFound, type UsersService } from '../users/service.ts';
import { kidNumber, type TokenSigner } from './signing.ts';
import { broadcaster, type Bus } from '../../platform/bus.ts';
import { EvictedCache } from '../../platform/cache.ts';
import { SessionLimitReached, type TokenRow, type TokensStore } from './store.ts';

/** 22 alphanumerics: log2(62^22) ≈ 131 bits. */
export const TOKEN_ID_LENGTH = 22;
/** 43 alphanumerics: ≈ 256 bits. */
export const LOGOUT_TOKEN_LENGTH = 43;
export const LAST_USED_WRITE_INTERVAL_MS = 60_000;
/** Bounds the token-state cache; past it the oldest entries go (they reload from the database). */
export const MAX_CACHED_TOKENS = 100_000;
/** Bounds the cache of users' active tokens (listings): users, and tokens in all. */
export const MAX_CACHED_TOKEN_LISTS = 50_000;
export const MAX_CACHED_LISTED_TOKENS = 200_000;
const KID_REFRESH_MS = 1_000;
/** How long an instance keeps signing with the kid it last read (a rotation elsewhere reaches it within this). */
export const SIGNING_KID_REFRESH_MS = 5_000;

export const SUPPORTED_HEADERS = ['X-Issued-Mitter-User-Authorization', 'Authorization'];
export const SUPPORTED_COOKIES = ['x_issued_mitter_user_authorization'];

export interface IssuedToken {
  signedToken: string;
  tokenId: string;
  supportedHeaders: string[];
  supportedCookies: string[];
  /** Seconds granted. */
  ttl: number;
  /** Epoch ms. */
  expiresAt: number;
  logoutUrl: string;
}

export interface TokenListing {
  tokenId: string;
  /** Seconds left, rounded down. */
  ttl: number;
  issuedAt: number;
  expiresAt: number;
  lastUsedAt: number;
  userAgent: string | null;
  current: boolean;
}

export interface ClientInfo {
  userAgent: string | null;
  address: string | null;
}

export interface TokenPrincipal {
  applicationId: string;
  userId: string;
  tokenId: string;
}

interface CachedToken {
  applicationId: string;
  userId: string;
  expiresAt: number;
  revokedAt: number | null;
  /** The user is suspended: the token is refused until it is reinstated. */
  suspended: boolean;
  lastUsed: number;
  lastWritten: number;
}

function claimRejected(message: string, reason?: string): ApiError {
  return new ApiError('claim_rejected', message, { check: 'user_token', ...(reason ? { reason } : {}) });
}

export function hashLogoutToken(logoutToken: string): string {
  return createHash('sha256').update(logoutToken, 'utf8').digest('hex');
}

export const TOKENS_EVICTED_TOPIC = 'tokens.evicted';
export const TOKEN_USERS_EVICTED_TOPIC = 'tokens.users-evicted';

export interface TokensServiceDeps {
  store: TokensStore;
  clock: Clock;
  signer: TokenSigner;
  applications: ApplicationsService;
  users: UsersService;
  bus: Bus;
  publicUrl: string;
  log?: FastifyBaseLogger;
}

/** A committed change to a user's tokens, as told to the other instances. */
interface TokensChange {
  applicationId: string;
  userId: string;
  /** Tokens revoked or extended (their cached states go). */
  tokenIds: string[];
}

export class TokensService {
  readonly #store: TokensStore;
  readonly #deps: TokensServiceDeps;
  readonly #cache = new Map<string, CachedToken>();
  #generation = 0;
  #currentKid: string | null = null;
  #maxKid = 0;
  #kidCheckedAt = -Infinity;
  readonly #pendingWrites = new Set<Promise<void>>();
  /** Active tokens per user (`applicationId:userId`) as last read, and when (listings). */
  readonly #lists = new EvictedCache<{ rows: readonly TokenRow[]; readAt: number }>({
    entries: MAX_CACHED_TOKEN_LISTS,
    maxWeight: MAX_CACHED_LISTED_TOKENS,
    weight: (list) => list.rows.length + 1,
  });
  /** Tells the other instances that a user's tokens changed (issued, extended, revoked): they drop what they cached. */
  readonly #announceEviction: (change: TokensChange) => void;
  /** Tells the other instances to drop every token of a user (its suspension changed). */
  readonly #announceUserEviction: (user: { applicationId: string; userId: string }) => void;

  constructor(deps: TokensServiceDeps) {
    this.#deps = deps;
    this.#announceEviction = broadcaster<TokensChange>(deps.bus, TOKENS_EVICTED_TOPIC, (change) => this.#evictLocally(change));
    this.#announceUserEviction = broadcaster<{ applicationId: string; userId: string }>(deps.bus, TOKEN_USERS_EVICTED_TOPIC, (user) =>
      this.#evictUser(user.applicationId, user.userId),
    );
    this.#store = deps.store;
    // Deleting a user revokes its tokens in the deletion's transaction; the cache forgets them after.
    deps.users.onDelete(async (tx, emit, user) => {
      await this.#store.revoke(user.applicationId, user.userId, null, this.#now(), { within: { tx, emit } });
    });
    deps.users.onDeleted((user) => this.#evictUser(user.applicationId, user.userId));
  }

  #now(): Date {
    return new Date(this.#deps.clock.now());
  }

  // ---- signing keys -------------------------------------------------------------------------

  /** The kid new tokens are signed with (ServerMeta; `k1` until the first rotation). */
  async #refreshKid(): Promise<string> {
    const kid = await this.#store.signingKid();
    this.#currentKid = kid;
    this.#maxKid = Math.max(this.#maxKid, kidNumber(kid) ?? 1);
    this.#kidCheckedAt = this.#deps.clock.now();
    return kid;
  }

  /** Re-read at most every few seconds, so a rotation by the CLI or another instance is followed. */
  async #signingKid(): Promise<string> {
    if (this.#currentKid !== null && this.#deps.clock.now() - this.#kidCheckedAt < SIGNING_KID_REFRESH_MS) return this.#currentKid;
    return this.#refreshKid();
  }

  /**
   * Starts signing with a new key (`k<n+1>`). Tokens signed with earlier keys keep verifying
   * until they expire or are revoked; servers learn the new kid when they first meet it.
   */
  async rotateSigningKey(): Promise<string> {
    const next = await this.#store.rotateSigningKid();
    await this.#refreshKid();
    return next;
  }

  // ---- verification -------------------------------------------------------------------------

  /** The principal behind a presented token, or a 401: `claim_rejected` when expired or revoked. */
  async verify(token: string, claimedApplicationId: string | null): Promise<TokenPrincipal> {
    const now = this.#deps.clock.now();
    let verified;
    try {
      verified = this.#deps.signer.verify(token, (n) => n <= this.#maxKid);
    } catch (error) {
      // A kid this process has not met yet may be a fresh rotation by another process.
      if (now - this.#kidCheckedAt < KID_REFRESH_MS) throw error;
      await this.#refreshKid();
      verified = this.#deps.signer.verify(token, (n) => n <= this.#maxKid);
    }
    const state = await this.#state(verified.userTokenId);
    if (state === null || state.applicationId !== verified.applicationId || state.userId !== verified.userId) {
      throw claimRejected('The user token is unknown');
    }
    if (state.revokedAt !== null) throw claimRejected('The user token was revoked');
    if (now >= state.expiresAt) throw claimRejected('The user token has expired');
    if (state.suspended) throw claimRejected('The user is suspended', 'suspended');
    if (claimedApplicationId !== null && claimedApplicationId !== state.applicationId) {
      throw new ApiError('authorization_exception', 'X-Mitter-Application-Id does not match the user token', { check: 'application_id' });
    }
    state.lastUsed = now;
    if (now - state.lastWritten >= LAST_USED_WRITE_INTERVAL_MS) {
      state.lastWritten = now;
      this.#writeBehind(verified.userTokenId, now);
    }
    return { applicationId: state.applicationId, userId: state.userId, tokenId: verified.userTokenId };
  }

  async #state(tokenId: string): Promise<CachedToken | null> {
    const cached = this.#cache.get(tokenId);
    if (cached) return cached;
    const generation = this.#generation;
    const row = await this.#store.findToken(tokenId);
    if (row === null) return null;
    const state: CachedToken = {
      applicationId: row.applicationId,
      userId: row.userId,
      expiresAt: row.expiresAt.getTime(),
      revokedAt: row.revokedAt?.getTime() ?? null,
      suspended: row.suspended,
      lastUsed: row.lastUsedAt.getTime(),
      lastWritten: row.lastUsedAt.getTime(),
    };
    if (generation === this.#generation) {
      if (this.#cache.size >= MAX_CACHED_TOKENS) {
        const oldest = this.#cache.keys().next();
        if (!oldest.done) this.#cache.delete(oldest.value);
      }
      this.#cache.set(tokenId, state);
    }
    return state;
  }

  /** Whether a token is still usable (neither revoked nor expired); open event streams ask. */
  async isActive(tokenId: string): Promise<boolean> {
    const state = await this.#state(tokenId);
    return state !== null && state.revokedAt === null && !state.suspended && this.#deps.clock.now() < state.expiresAt;
  }

  /**
   * After a change to a user's tokens committed (`tokenIds`: those revoked or extended; a new one
   * needs none): drops what the change makes stale here, and on every other instance sharing the bus.
   */
  evict(applicationId: string, userId: string, tokenIds: Iterable<string>): void {
    const change = { applicationId, userId, tokenIds: [...tokenIds] };
    this.#evictLocally(change);
    this.#announceEviction(change);
  }

  /** Drops every token of a user here and on every other instance (its suspension changed). */
  evictUser(applicationId: string, userId: string): void {
    this.#evictUser(applicationId, userId);
    this.#announceUserEviction({ applicationId, userId });
  }

  #evictLocally(change: TokensChange): void {
    this.#generation += 1;
    for (const id of change.tokenIds) this.#cache.delete(id);
    this.#lists.evict(change.applicationId, [change.userId]);
  }

  #evictUser(applicationId: string, userId: string): void {
    this.#lists.evict(applicationId, [userId]);
    this.#generation += 1;
    for (const [id, state] of this.#cache) {
      if (state.applicationId === applicationId && state.userId === userId) this.#cache.delete(id);
    }
  }

  #writeBehind(tokenId: string, at: number): void {
    const write = this.#store
      .touch(tokenId, new Date(at))
      .catch((error: unknown) => this.#deps.log?.warn({ err: error, tokenId }, 'could not record a token’s last use'))
      .finally(() => this.#pendingWrites.delete(write));
    this.#pendingWrites.add(write);
  }

  /** Waits for pending last-use writes (shutdown, tests). */
  async flush(): Promise<void> {
    await Promise.all([...this.#pendingWrites]);
  }

  // ---- issue ----------------------------------------------------------------------------------

  /** The application's settings (an unknown application is a 401). */
  async settings(applicationId: string): Promise<ApplicationSettings> {
    const application = await this.#deps.applications.get(applicationId);
    if (!application) throw new ApiError('authorization_exception', 'Unknown application', { check: 'application_id' });
    return application.settings;
  }

  /**
   * Issues a token. `ttl` 0 or null takes the application's default; beyond its maximum is a 400.
   * At the session limit, `force` revokes the least recently used tokens, else 409.
   */
  async issue(applicationId: string, userId: string, options: { ttl: number | null; force: boolean }, client: ClientInfo): Promise<IssuedToken> {
    const settings = await this.settings(applicationId);
    const ttl = options.ttl === null || options.ttl === 0 ? settings.tokenDefaultTtl : options.ttl;
    if (ttl > settings.tokenMaxTtl) {
      throw new ApiError('invalid_entity', `ttl: at most ${settings.tokenMaxTtl} seconds in this application`, {
        field: 'ttl',
        rule: 'maximum',
        maximum: settings.tokenMaxTtl,
      });
    }
    const kid = await this.#signingKid();
    const now = this.#deps.clock.now();
    const tokenId = randomAlphanumeric(TOKEN_ID_LENGTH);
    const logoutToken = randomAlphanumeric(LOGOUT_TOKEN_LENGTH);
    const expiresAt = now + ttl * 1000;
    const limit = settings.maxActiveTokensPerUser;
    let outcome;
    try {
      outcome = await this.#store.issue(
        {
          id: tokenId,
          applicationId,
          userId,
          kid,
          issuedAt: new Date(now),
          expiresAt: new Date(expiresAt),
          lastUsedAt: new Date(now),
          userAgent: client.userAgent?.slice(0, 512) ?? null,
          address: client.address?.slice(0, 64) ?? null,
          logoutTokenHash: hashLogoutToken(logoutToken),
        },
        (active) => this.#evictionsFor(active, limit, options.force),
      );
    } catch (error) {
      if (error instanceof SessionLimitReached) {
        throw new ApiError(
          'limit_exceeded',
          `This user already holds ${limit} active tokens (the application's limit); issue with force=true to replace the least recently used`,
          { limit },
        );
      }
      throw error;
    }
    if (outcome === null) throw userNotFound(userId);
    if (outcome === 'suspended') throw new ApiError('user_suspended', `User "${userId}" is suspended`, { userId });
    this.evict(applicationId, userId, outcome.revoked);
    const signedToken = this.#deps.signer.sign({ userTokenId: tokenId, applicationId, userId }, kid, Math.floor(now / 1000));
    return {
      signedToken,
      tokenId,
      supportedHeaders: SUPPORTED_HEADERS,
      supportedCookies: SUPPORTED_COOKIES,
      ttl,
      expiresAt,
      logoutUrl: `${this.#deps.publicUrl}/v1/logout/${logoutToken}`,
    };
  }

  /** The tokens to revoke so one more fits under `limit` (0: none), least recently used first. */
  #evictionsFor(active: TokenRow[], limit: number, force: boolean): string[] {
    if (limit === 0 || active.length < limit) return [];
    if (!force) throw new SessionLimitReached();
    // This process knows uses the database has not been told of yet (written behind).
    const lastUsed = (row: TokenRow) => Math.max(row.lastUsedAt.getTime(), this.#cache.get(row.id)?.lastUsed ?? 0);
    return [...active]
      .sort((a, b) => lastUsed(a) - lastUsed(b) || a.issuedAt.getTime() - b.issuedAt.getTime() || (a.id < b.id ? -1 : 1))
      .slice(0, active.length - limit + 1)
      .map((row) => row.id);
  }

  // ---- list, extend, revoke -------------------------------------------------------------------

  async list(applicationId: string, userId: string, currentTokenId: string | null): Promise<TokenListing[]> {
    const now = this.#deps.clock.now();
    let list = this.#lists.get(applicationId, userId);
    if (list === undefined || now - list.readAt >= LAST_USED_WRITE_INTERVAL_MS) {
      const generation = this.#lists.generation;
      const rows = await this.#store.activeTokens(applicationId, userId, new Date(now));
      if (rows === null) throw userNotFound(userId);
      list = { rows: Object.freeze(rows.map((row) => Object.freeze(row))), readAt: now };
      this.#lists.set(applicationId, userId, list, generation);
    }
    return list.rows.filter((row) => row.expiresAt.getTime() > now).map((row) => this.#listing(row, now, currentTokenId));
  }

  /** A token as listed: seconds left at `now`, and its last use as this process knows it. */
  #listing(row: TokenRow, now: number, currentTokenId: string | null): TokenListing {
    return {
      tokenId: row.id,
      ttl: Math.max(0, Math.floor((row.expiresAt.getTime() - now) / 1000)),
      issuedAt: row.issuedAt.getTime(),
      expiresAt: row.expiresAt.getTime(),
      lastUsedAt: Math.max(row.lastUsedAt.getTime(), this.#cache.get(row.id)?.lastUsed ?? 0),
      userAgent: row.userAgent,
      current: row.id === currentTokenId,
    };
  }

  /** New expiry = now + ttl (0: the default); 403 `ttl_extension_refused` on inactive tokens or beyond the maximum. */
  async extend(applicationId: string, userId: string, tokenId: string, requestedTtl: number): Promise<TokenListing> {
    const settings = await this.settings(applicationId);
    const ttl = requestedTtl === 0 ? settings.tokenDefaultTtl : requestedTtl;
    const row = await this.#store.findToken(tokenId);
    if (row === null || row.applicationId !== applicationId || row.userId !== userId) {
      throw new ApiError('entity_not_found', `User "${userId}" has no token "${tokenId}"`, { entityType: 'userToken', entityLocator: tokenId });
    }
    if (ttl > settings.tokenMaxTtl) {
      throw new ApiError('ttl_extension_refused', `ttl: at most ${settings.tokenMaxTtl} seconds in this application`, { maximum: settings.tokenMaxTtl });
    }
    const now = this.#deps.clock.now();
    const expiresAt = now + ttl * 1000;
    const extended = await this.#store.extend(tokenId, new Date(expiresAt), new Date(now));
    this.evict(applicationId, userId, [tokenId]);
    if (!extended) throw new ApiError('ttl_extension_refused', 'The token has expired or was revoked', { tokenId });
    return this.#listing({ ...row, expiresAt: new Date(expiresAt) }, now, null);
  }

  /** Revokes these tokens of the user (`*`: all); ids that are unknown or not the user's are ignored. */
  async revoke(applicationId: string, userId: string, tokenIds: string[] | '*'): Promise<void> {
    if (!(await this.#deps.users.exists(applicationId, userId))) throw userNotFound(userId);
    const revoked = await this.#store.revoke(applicationId, userId, tokenIds === '*' ? null : tokenIds, this.#now());
    this.evict(applicationId, userId, tokenIds === '*' ? revoked : tokenIds);
  }

  /** The logout link: revokes its token (idempotent). The token's application, or null for an unknown link. */
  async logoutByLink(logoutToken: string): Promise<{ applicationId: string } | null> {
    const row = await this.#store.findByLogoutHash(hashLogoutToken(logoutToken));
    if (row === null) return null;
    if (row.revokedAt === null) await this.#store.revokeToken(row, this.#now());
    this.evict(row.applicationId, row.userId, [row.id]);
    return { applicationId: row.applicationId };
  }
}
