// HTTP routes of tokens and sessions (docs/tokens.md): issue, list, extend, revoke, logout, logout
// links, passwords and login.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { ApiError, invalidEntity } from '../../errors.ts';
import { type RouteApp, errorResponses, parseCommaList, isRecord, SIGNED_OR_TOKEN } from '../../schemas.ts';
import { applicationOf, tokenIdOf } from '../../auth/principal.ts';
import { ME, resolveUserReference, targetUserOf } from '../../policy/authorize.ts';
import { RESERVED_USER_IDS, USER_ID_PATTERN } from '../users/rules.ts';
import { parseLocatorString } from '../users/locators.ts';
import { EmptyObject, UserParams } from '../users/routes.ts';
import { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH } from './passwords.ts';
import type { ClientInfo, IssuedToken } from './service.ts';

const TOKEN_ID_PATTERN = /^[A-Za-z0-9]{1,64}$/;
const MAX_TTL_SECONDS = 10 * 365 * 86_400;
const NO_STORE = 'no-store';

/** A freshly issued token, as token issue, login and device links return it. */
export const UserTokenSchema = Type.Object({
  signedToken: Type.String({ description: 'The JWS to present (header X-Issued-Mitter-User-Authorization, Authorization: Bearer, or the cookie)' }),
  tokenId: Type.String(),
  supportedHeaders: Type.Array(Type.String()),
  supportedCookies: Type.Array(Type.String()),
  ttl: Type.Integer({ description: 'Seconds granted' }),
  expiresAt: Type.Integer({ description: 'Epoch ms' }),
  logoutUrl: Type.String({ description: 'GET it to revoke this token (works without credentials)' }),
});

const IssuedTokenSchema = Type.Object({ userToken: UserTokenSchema }, { $id: 'IssuedUserToken', title: 'IssuedUserToken' });

const TokenListingSchema = Type.Object(
  {
    tokenId: Type.String(),
    ttl: Type.Integer({ description: 'Seconds left (rounded down)' }),
    issuedAt: Type.Integer({ description: 'Epoch ms' }),
    expiresAt: Type.Integer({ description: 'Epoch ms' }),
    lastUsedAt: Type.Integer({ description: 'Epoch ms (recorded at most once a minute)' }),
    userAgent: Type.String({ nullable: true }),
    current: Type.Boolean({ description: 'Whether this is the token the request presented' }),
  },
  { $id: 'UserTokenListing', title: 'UserTokenListing' },
);

/** Accepts reserved ids too, so `POST /v1/users/.system/tokens` can answer token_issuance_refused. */
const IssueParams = Type.Object({
  userId: Type.String({ pattern: `^(${ME}|\\.system|\\.anonymous|\\.deleted|${USER_ID_PATTERN.source.slice(1, -1)})$`, description: 'A user id, or `me`' }),
});

/** An optional JSON object (the SDK posts an empty body); each field is checked in code. */
const IssueBody = Type.Unsafe<unknown>({
  description: 'Optional: {"ttl": seconds (0 = the application default), "force": boolean (default true)}; both may also be query parameters',
});

const IssueQuery = Type.Object(
  {
    ttl: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_TTL_SECONDS })),
    force: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: true },
);

function parseTtl(value: unknown, field: string, location: 'body' | 'query'): number | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > MAX_TTL_SECONDS) {
    throw invalidEntity({ field, location }, 'type', `must be a whole number of seconds from 0 to ${MAX_TTL_SECONDS}`);
  }
  return value;
}

/** Who is asking for a token: its user agent and address (kept with the token, shown in listings). */
export function clientOf(request: FastifyRequest): ClientInfo {
  const userAgent = request.headers['user-agent'];
  return { userAgent: typeof userAgent === 'string' && userAgent !== '' ? userAgent : null, address: request.ip ?? null };
}

/**
 * A state change carried by the token cookie alone (no token header) from anywhere but this site:
 * a cross-site GET (an <img>, a link) must not log the user out. Browsers say where a request
 * comes from in Sec-Fetch-Site; a request without it (an old browser, a script with a cookie jar)
 * is refused too: such clients can send the token in a header.
 */
function cookieOnlyCrossSite(request: FastifyRequest): boolean {
  if (request.principal.kind !== 'user' || request.principal.via !== 'token') return false;
  const headers = request.headers;
  const bearer = typeof headers.authorization === 'string' && /^bearer\s/i.test(headers.authorization);
  if (headers['x-issued-mitter-user-authorization'] !== undefined || bearer) return false;
  return headers['sec-fetch-site'] !== 'same-origin';
}

function issuedBody(token: IssuedToken) {
  return { userToken: token };
}

const SIGNED_OUT_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>Signed out</title></head>
<body><main><h1>You are signed out</h1><p>This session has ended. You can close this page.</p></main></body></html>
`;

/** `return_to` when it is an absolute http(s) URL whose origin the application allows; else null. */
function allowedReturn(returnTo: unknown, allowedOrigins: readonly string[]): string | null {
  if (typeof returnTo !== 'string' || returnTo.length > 2048) return null;
  let url: URL;
  try {
    url = new URL(returnTo);
  } catch {
    return null;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return null;
  return allowedOrigins.includes(url.origin) ? url.toString() : null;
}

function sendLoggedOutPage(reply: FastifyReply) {
  return reply
    .code(200)
    .header('cache-control', NO_STORE)
    .header('referrer-policy', 'no-referrer')
    .header('content-security-policy', "default-src 'none'")
    .type('text/html; charset=utf-8')
    .send(SIGNED_OUT_PAGE);
}

export async function tokenRoutes(app: RouteApp): Promise<void> {
  const { tokens, passwords, applications } = app.locus;
  const tags = ['tokens'];
  const security = SIGNED_OR_TOKEN;
  app.addSchema(IssuedTokenSchema);
  app.addSchema(TokenListingSchema);

  app.post(
    '/v1/users/:userId/tokens',
    {
      config: { action: 'tokens.issue', targetUser: 'userId' },
      schema: {
        summary: 'Issue a user token',
        description:
          'Only .system issues tokens, and never to .system itself (403 `token_issuance_refused`). At the application’s session limit, ' +
          '`force` (default true) revokes the least recently used tokens; `force=false` answers 409 `limit_exceeded`.',
        tags,
        security: [{ accessKeySignature: [] }],
        params: IssueParams,
        querystring: IssueQuery,
        body: IssueBody,
        response: { 200: Type.Ref('IssuedUserToken'), ...errorResponses('missing_privilege', 'token_issuance_refused', 'entity_not_found', 'limit_exceeded') },
      },
    },
    async (request) => {
      const userId = targetUserOf(request);
      if (RESERVED_USER_IDS.has(userId)) {
        throw new ApiError('token_issuance_refused', `No token can be issued to "${userId}"`, { userId });
      }
      const query = request.query;
      const body = request.body;
      if (body !== undefined && !isRecord(body)) throw invalidEntity({ field: 'body', location: 'body' }, 'type', 'must be an object when sent');
      const ttl = parseTtl(body?.ttl, 'ttl', 'body') ?? query.ttl ?? null;
      if (body?.force !== undefined && typeof body.force !== 'boolean') throw invalidEntity({ field: 'force', location: 'body' }, 'type', 'must be a boolean');
      const force = body?.force ?? query.force ?? true;
      return issuedBody(await tokens.issue(applicationOf(request.principal), userId, { ttl, force }, clientOf(request)));
    },
  );

  app.get(
    '/v1/users/:userId/tokens',
    {
      config: { action: 'tokens.read', targetUser: 'userId' },
      schema: {
        summary: 'A user’s active tokens (never the signed tokens themselves)',
        tags,
        security,
        params: UserParams,
        response: { 200: Type.Array(Type.Ref('UserTokenListing')), ...errorResponses('missing_privilege', 'entity_not_found') },
      },
    },
    async (request) => tokens.list(applicationOf(request.principal), targetUserOf(request), tokenIdOf(request.principal)),
  );

  app.patch(
    '/v1/users/:userId/tokens/:tokenId',
    {
      config: { action: 'tokens.write', targetUser: 'userId' },
      schema: {
        summary: 'Extend a token: its new expiry is now + ttl',
        description: 'Refused (403 `ttl_extension_refused`) on an expired or revoked token, or beyond the application’s maximum ttl.',
        tags,
        security,
        params: Type.Object({ userId: UserParams.properties.userId, tokenId: Type.String({ pattern: TOKEN_ID_PATTERN.source }) }),
        body: Type.Object(
          { ttl: Type.Integer({ minimum: 0, maximum: MAX_TTL_SECONDS, description: 'Seconds from now (0 = the application default)' }) },
          { additionalProperties: true },
        ),
        response: { 200: Type.Ref('UserTokenListing'), ...errorResponses('missing_privilege', 'ttl_extension_refused', 'entity_not_found') },
      },
    },
    async (request) => {
      const { tokenId } = request.params;
      const listing = await tokens.extend(applicationOf(request.principal), targetUserOf(request), tokenId, request.body.ttl);
      return { ...listing, current: listing.tokenId === tokenIdOf(request.principal) };
    },
  );

  app.delete(
    '/v1/users/:userId/tokens/:tokenIds',
    {
      config: { action: 'tokens.write', targetUser: 'userId' },
      schema: {
        summary: 'Revoke tokens: a comma list of ids, or * for all',
        description: 'Ids that are unknown or not this user’s are ignored (RFC 7009). Revocation holds from the very next request.',
        tags,
        security,
        params: Type.Object({ userId: UserParams.properties.userId, tokenIds: Type.String({ maxLength: 100 * 65 }) }),
        response: { 200: EmptyObject, ...errorResponses('missing_privilege', 'entity_not_found') },
      },
    },
    async (request) => {
      const raw = request.params.tokenIds;
      const ids: string[] | '*' =
        raw.trim() === '*'
          ? '*'
          : parseCommaList(raw, {
              where: { field: 'tokenIds', location: 'path' },
              distinct: true,
              max: 100,
              maxMessage: 'at most 100 ids',
              entry: (id, where) => {
                if (!TOKEN_ID_PATTERN.test(id)) throw invalidEntity(where, 'pattern', 'is not a token id');
                return id;
              },
            });
      await tokens.revoke(applicationOf(request.principal), targetUserOf(request), ids);
      return {};
    },
  );

  app.get(
    '/v1/users/me/logout',
    {
      config: { action: 'tokens.logout' },
      schema: {
        summary: 'Log out: revoke the presented token (`all=true`: every token of the user)',
        tags,
        security,
        querystring: Type.Object({ all: Type.Optional(Type.Boolean()) }, { additionalProperties: true }),
        response: { 200: EmptyObject, ...errorResponses('missing_context') },
      },
    },
    async (request, reply) => {
      reply.header('cache-control', NO_STORE);
      if (cookieOnlyCrossSite(request)) {
        throw new ApiError('missing_privilege', 'A logout carried by the cookie alone must come from this site (Sec-Fetch-Site: same-origin)', {
          check: 'sec_fetch_site',
        });
      }
      const userId = resolveUserReference(request.principal, ME);
      const applicationId = applicationOf(request.principal);
      const all = request.query.all === true;
      const tokenId = tokenIdOf(request.principal);
      if (all) {
        await tokens.revoke(applicationId, userId, '*');
      } else if (tokenId !== null) {
        await tokens.revoke(applicationId, userId, [tokenId]);
      } else {
        throw new ApiError('missing_context', 'This request presents no token to log out: send a user token, or all=true', { missingContext: 'user_token' });
      }
      return {};
    },
  );

  app.get(
    '/v1/logout/:logoutToken',
    {
      config: { action: 'tokens.logout_link', credentialsIgnored: true },
      schema: {
        summary: 'A logout link: revokes its token and shows a page (or 303 to an allowed return_to)',
        description: 'Idempotent; works without credentials. `return_to` is followed only when its origin is in the application’s allowedReturnOrigins.',
        tags,
        params: Type.Object({ logoutToken: Type.String({ maxLength: 128 }) }),
        querystring: Type.Object({ return_to: Type.Optional(Type.String({ maxLength: 2048 })) }, { additionalProperties: true }),
        produces: ['text/html'],
        response: { 200: Type.String({ description: 'An HTML page' }), 303: Type.Null({ description: 'Redirect to return_to' }), ...errorResponses() },
      },
    },
    async (request, reply) => {
      const { logoutToken } = request.params;
      const found = /^[A-Za-z0-9]{1,128}$/.test(logoutToken) ? await tokens.logoutByLink(logoutToken) : null;
      const returnTo = request.query.return_to;
      if (found && returnTo !== undefined) {
        const application = await applications.get(found.applicationId);
        const target = allowedReturn(returnTo, application?.settings.allowedReturnOrigins ?? []);
        if (target !== null) {
          return reply.header('cache-control', NO_STORE).header('referrer-policy', 'no-referrer').redirect(target, 303);
        }
      }
      // Unknown, used and fresh links look the same: the page never tells which.
      return sendLoggedOutPage(reply);
    },
  );

  app.put(
    '/v1/users/:userId/password',
    {
      config: { action: 'users.password.write', targetUser: 'userId' },
      schema: {
        summary: 'Set a user’s password (Argon2id)',
        description:
          `${MIN_PASSWORD_LENGTH}–${MAX_PASSWORD_LENGTH} characters. A user changing its own password sends \`currentPassword\` once one is set. ` +
          '`revokeOtherTokens` revokes every other token of the user (all of them when .system sets it).',
        tags,
        security,
        params: UserParams,
        body: Type.Object(
          {
            password: Type.String(),
            currentPassword: Type.Optional(Type.String({ maxLength: MAX_PASSWORD_LENGTH })),
            revokeOtherTokens: Type.Optional(Type.Boolean()),
          },
          { additionalProperties: true },
        ),
        response: { 200: EmptyObject, ...errorResponses('invalid_credentials', 'missing_privilege', 'entity_not_found') },
      },
    },
    async (request) => {
      const body = request.body;
      const length = [...body.password].length;
      if (length < MIN_PASSWORD_LENGTH || length > MAX_PASSWORD_LENGTH || !body.password.isWellFormed()) {
        throw invalidEntity({ field: 'password', location: 'body' }, 'length', `must be ${MIN_PASSWORD_LENGTH} to ${MAX_PASSWORD_LENGTH} characters`);
      }
      const self = request.principal.kind === 'user';
      await passwords.setPassword(
        applicationOf(request.principal),
        targetUserOf(request),
        { password: body.password, currentPassword: body.currentPassword ?? null, revokeOtherTokens: body.revokeOtherTokens === true },
        { self, keepTokenId: tokenIdOf(request.principal) },
      );
      return {};
    },
  );

  app.post(
    '/v1/login',
    {
      config: { action: 'auth.login' },
      schema: {
        summary: 'Log in with a password (needs X-Mitter-Application-Id; refused when the application turns passwordLogin off)',
        description:
          'By `userId` or `locator`. Unknown user and wrong password are the same 401 `invalid_credentials`. Five failures for one user ' +
          'in 15 minutes lock its logins for 15 minutes (429 `too_many_attempts` with Retry-After).',
        tags,
        body: Type.Object(
          {
            userId: Type.Optional(Type.String({ maxLength: 72 })),
            locator: Type.Optional(Type.String({ maxLength: 320 })),
            password: Type.String({ maxLength: MAX_PASSWORD_LENGTH }),
            force: Type.Optional(Type.Boolean({ default: true })),
          },
          { additionalProperties: true },
        ),
        response: { 200: Type.Ref('IssuedUserToken'), ...errorResponses('invalid_credentials', 'missing_privilege', 'too_many_attempts') },
      },
    },
    async (request, reply) => {
      reply.header('cache-control', NO_STORE);
      const body = request.body;
      if ((body.userId === undefined) === (body.locator === undefined)) {
        throw new ApiError('invalid_parameter_set', 'Send exactly one of userId and locator');
      }
      const subject =
        body.userId !== undefined ? { userId: body.userId } : { locator: parseLocatorString(body.locator, { field: 'locator', location: 'body' }) };
      return issuedBody(await passwords.login(applicationOf(request.principal), subject, body.password, { force: body.force ?? true }, clientOf(request)));
    },
  );
}
