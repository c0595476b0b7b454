// Who is calling? Resolves every request to exactly one principal (docs/api.md): an application's
// `.system`, a user (through sudo or a user token), or `.anonymous`.
// Bad credentials are a 401, never a fallback to `.anonymous`.
import type { KeyObject } from 'node:crypto';
import { ApiError } from '../errors.ts';
import type { Clock } from '../platform/clock.ts';
import { MemoryKv, type Kv } from '../platform/kv.ts';
import { DOMAIN_ID_PATTERN } from '../platform/ids.ts';
import { checkDate, looksSigned, nonceRetentionMs, readSignatureHeaders, verifyDigest, type Headers, type SignatureCheck } from './signature.ts';

export type Principal =
  | { kind: 'system'; applicationId: string; accessKey: string }
  | { kind: 'user'; applicationId: string; userId: string; via: 'sudo'; accessKey: string }
  | { kind: 'user'; applicationId: string; userId: string; via: 'token'; tokenId: string }
  | { kind: 'anonymous'; applicationId: string | null }
  /** Whoever runs the deployment, signed in to the console (docs/console.md): no application of its own. */
  | { kind: 'operator'; applicationId: null; sessionId: string };

export type PrincipalKind = Principal['kind'];

export interface AccessKeyRecord {
  accessKey: string;
  applicationId: string;
  /** The HMAC key: the secret's bytes, prepared once (hmacSha1Key). */
  secret: KeyObject;
}

export interface AuthDependencies {
  clock: Clock;
  /**
   * Stores a nonce key for `ttlMs` unless present; true when this call stored it. In process the
   * answer comes at once, without a promise (nonceClaims).
   */
  claimNonce(key: string, ttlMs: number): boolean | Promise<boolean>;
  /** Active keys only: a revoked or unknown key is null. */
  findAccessKey(accessKey: string): Promise<AccessKeyRecord | null>;
  userExists(applicationId: string, userId: string): Promise<boolean>;
  /** The user behind a presented token, or a 401 ApiError. */
  verifyUserToken(token: string, claimedApplicationId: string | null): Promise<{ applicationId: string; userId: string; tokenId: string }>;
}

export interface IncomingRequest {
  method: string;
  /** Path as received, without query string. */
  rawPath: string;
  headers: Headers;
  body: Buffer;
}

const USER_TOKEN_HEADER = 'x-issued-mitter-user-authorization';
const USER_TOKEN_COOKIE = 'x_issued_mitter_user_authorization';
const SUDO_HEADER = 'x-mitter-sudo-user-id';
const APPLICATION_ID_HEADER = 'x-mitter-application-id';

/** The checks named in a 401's diagnostics: the signature's own, and those about who is acting. */
export type AuthCheck = SignatureCheck | 'application_id' | 'sudo_user' | 'user_token' | 'credentials';

function rejected(check: AuthCheck, message: string): ApiError {
  return new ApiError('authorization_exception', message, { check });
}

function headerValue(headers: Headers, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

export function cookieValue(headers: Headers, name: string): string | undefined {
  const cookie = headerValue(headers, 'cookie');
  if (cookie === undefined) return undefined;
  for (const part of cookie.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/**
 * The presented user token, from the first carrier that has one (docs/tokens.md): the
 * X-Issued-Mitter-User-Authorization header, `Authorization: Bearer`, then the cookie. Never the
 * query string. Null when none carries one.
 */
export function presentedUserToken(headers: Headers): string | null {
  const header = headerValue(headers, USER_TOKEN_HEADER);
  if (header !== undefined) return header.trim();
  const authorization = headerValue(headers, 'authorization');
  if (authorization !== undefined && /^bearer\s/i.test(authorization)) return authorization.slice(7).trim();
  const cookie = cookieValue(headers, USER_TOKEN_COOKIE);
  return cookie === undefined ? null : cookie;
}

function applicationIdHeader(headers: Headers): string | null {
  const value = headerValue(headers, APPLICATION_ID_HEADER)?.trim();
  if (value === undefined || value === '') return null;
  if (!DOMAIN_ID_PATTERN.test(value)) {
    throw new ApiError('invalid_entity', 'X-Mitter-Application-Id is not an application id', {
      field: 'X-Mitter-Application-Id',
      location: 'header',
      rule: 'pattern',
    });
  }
  return value;
}

async function authenticateSigned(request: IncomingRequest, deps: AuthDependencies): Promise<Principal> {
  const parsed = readSignatureHeaders(request.headers);
  if (!parsed.ok) throw rejected(parsed.check, parsed.message);
  const headers = parsed.value;

  const key = await deps.findAccessKey(headers.accessKey);
  if (!key) throw rejected('access_key', 'The access key is unknown or revoked');

  const now = deps.clock.now();
  const date = checkDate(headers.date, now);
  if (!date.ok) throw rejected(date.check, date.message);

  const digest = verifyDigest({ method: request.method, rawPath: request.rawPath, body: request.body, headers }, key.secret);
  if (!digest.ok) throw rejected(digest.check, digest.message);

  // Only a correctly signed request may consume its nonce: forgeries cannot burn nonces.
  const nonceKey = `nonce:${key.accessKey}:${headers.nonce}`;
  const retention = nonceRetentionMs(date.value, now);
  const claimed = deps.claimNonce(nonceKey, retention);
  if (!(typeof claimed === 'boolean' ? claimed : await claimed)) throw rejected('nonce', 'The nonce was already used in the replay window');

  const claimedApplication = applicationIdHeader(request.headers);
  if (claimedApplication !== null && claimedApplication !== key.applicationId) {
    throw rejected('application_id', 'X-Mitter-Application-Id does not match the access key');
  }

  const sudoUserId = headerValue(request.headers, SUDO_HEADER)?.trim();
  if (sudoUserId === undefined || sudoUserId === '') {
    return { kind: 'system', applicationId: key.applicationId, accessKey: key.accessKey };
  }
  if (sudoUserId.startsWith('.') || sudoUserId === 'me' || !(await deps.userExists(key.applicationId, sudoUserId))) {
    throw rejected('sudo_user', 'X-Mitter-Sudo-User-Id does not name a user of this application');
  }
  return { kind: 'user', applicationId: key.applicationId, userId: sudoUserId, via: 'sudo', accessKey: key.accessKey };
}

export async function authenticate(request: IncomingRequest, deps: AuthDependencies): Promise<Principal> {
  const signed = looksSigned(request.headers);
  const token = presentedUserToken(request.headers);
  if (signed && token !== null) {
    throw new ApiError('invalid_parameter_set', 'Send either an application signature or a user token, not both');
  }
  if (signed) return authenticateSigned(request, deps);
  if (token !== null) {
    if (request.headers[SUDO_HEADER] !== undefined) {
      throw rejected('sudo_user', 'X-Mitter-Sudo-User-Id needs a request signed with an application access key');
    }
    if (token === '') throw rejected('user_token', 'The user token is empty');
    const user = await deps.verifyUserToken(token, applicationIdHeader(request.headers));
    return { kind: 'user', applicationId: user.applicationId, userId: user.userId, via: 'token', tokenId: user.tokenId };
  }
  if (request.headers[SUDO_HEADER] !== undefined) {
    throw rejected('sudo_user', 'X-Mitter-Sudo-User-Id needs a request signed with an application access key');
  }
  const authorization = headerValue(request.headers, 'authorization');
  if (authorization !== undefined) {
    throw rejected('authorization', 'Unsupported Authorization scheme: use "Auth <accessKey>:<digest>" or a user token');
  }
  return { kind: 'anonymous', applicationId: applicationIdHeader(request.headers) };
}

/**
 * AuthDependencies.claimNonce on a kv store. The in-process store is told apart once, here, not
 * on every request (an `instanceof` per signed request cost about half a microsecond).
 */
export function nonceClaims(kv: Kv): AuthDependencies['claimNonce'] {
  if (kv instanceof MemoryKv) return (key, ttlMs) => kv.setIfAbsentNow(key, '1', ttlMs);
  return (key, ttlMs) => kv.setIfAbsent(key, '1', ttlMs);
}

/** The id of the token a user principal presented; null for sudo and other principals. */
export function tokenIdOf(principal: Principal): string | null {
  return principal.kind === 'user' && principal.via === 'token' ? principal.tokenId : null;
}

/** The application a principal acts in; `.anonymous` without X-Mitter-Application-Id has none. */
export function applicationOf(principal: Principal): string {
  if (principal.applicationId === null) {
    throw new ApiError('authorization_exception', 'This route needs credentials or X-Mitter-Application-Id', { check: 'credentials' });
  }
  return principal.applicationId;
}
