// HTTP routes of users and locators (docs/users.md): validate, authorise (declared per route), call the
// service, shape with the wire module.
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { splitCommaList } from '../../platform/lists.ts';
import { invalidEntity, type Where } from '../../errors.ts';
import { type RouteApp, errorResponses, isRecord, parseCommaList, sendWritten, SIGNED_OR_TOKEN } from '../../schemas.ts';
import { applicationOf, type Principal } from '../../auth/principal.ts';
import { authorize, ME, resolveUserReference, targetUserOf } from '../../policy/authorize.ts';
import { toWireUser, wireUserJson, wireUsersJson, type WireUser } from '../../wire/users.ts';
import type { StoredUser } from './types.ts';
import { toWireEntityProfile } from '../../wire/profiles.ts';
import { ATTRIBUTE_KEY_PATTERN } from '../profiles/rules.ts';
import type { Locus } from '../../server/locus.ts';
import { meetsConditions, parseMetadataFilter } from '../metadata/rules.ts';
import { toWireMetadata } from '../../wire/metadata.ts';
import { ATTESTED_STATUSES, parseLocatorInput, parseQueryLocator, type Locator, type LocatorInput } from './locators.ts';
import { parseScreenName, parseUserId, USER_ID_PATTERN } from './rules.ts';
import { MAX_LOCATORS_PER_USER } from './service.ts';

/** Comma lists of ids and lookups by locator carry at most this many entries (docs/api.md). */
export const MAX_LIST_ENTRIES = 100;
export const DEFAULT_PAGE_SIZE = 50;

const USER_REFERENCE_PATTERN = `^(${ME}|${USER_ID_PATTERN.source.slice(1, -1)})$`;
/** The `{userId}` path parameter of every per-user route: an id, or `me`. */
export const UserParams = Type.Object({
  userId: Type.String({ pattern: USER_REFERENCE_PATTERN, description: 'A user id, or `me` for the acting user' }),
});
/** A path parameter naming another user by id. */
export const USER_ID_PARAM = Type.String({ pattern: USER_ID_PATTERN.source, description: 'A user id' });
/** The path parameter of routes that take a comma list of users. */
export const UserIdsParams = Type.Object({ userIds: Type.String({ description: 'Comma-separated user ids (`me` allowed), at most 100' }) });

/** The ids of a `userIds` comma list, in order (`me` resolved for `principal`), each checked; at most 100. */
export function userIdsOf(principal: Principal, userIds: string): string[] {
  return parseCommaList(userIds, {
    where: { field: 'userIds', location: 'path' },
    max: MAX_LIST_ENTRIES,
    entry: (reference, where) => parseUserId(resolveUserReference(principal, reference), where),
  });
}

export const EmptyObject = Type.Object({}, { description: 'Nothing to say' });

const LocatorInputSchema = Type.Union(
  [
    Type.String({ description: '"email:<address>" or "tele:<+E.164 number, separators allowed>"', maxLength: 320 }),
    Type.Object(
      {
        '@type': Type.Optional(Type.String({ description: 'email | tele' })),
        locator: Type.Optional(Type.String()),
        email: Type.Optional(Type.String()),
        phoneNumber: Type.Optional(Type.String()),
        // Untyped on purpose: with type coercion on, a union would rewrite values (the parser checks them).
        verificationStatus: Type.Optional(Type.Unsafe<string | number>({ description: 'A status name (string), or the JS SDK enum number (integer)' })),
      },
      { additionalProperties: true },
    ),
  ],
  { description: 'A locator: a prefixed string or a UserLocator entity' },
);

const CreateUserBody = Type.Object(
  {
    userId: Type.Optional(
      Type.Unsafe<string | null>({ type: 'string', nullable: true, description: 'Generated (XXXXX-XXXXX-XXXXX-XXXXX) when absent or null' }),
    ),
    screenName: Type.Object({ screenName: Type.String() }, { additionalProperties: true }),
    userLocators: Type.Optional(Type.Array(LocatorInputSchema, { maxItems: MAX_LOCATORS_PER_USER })),
    systemUser: Type.Optional(Type.Boolean({ description: 'Must be false or absent' })),
  },
  { additionalProperties: true, description: 'A User; audit and other server-owned fields are ignored' },
);

const UsersQuery = Type.Object(
  {
    locators: Type.Optional(
      Type.Array(Type.String(), { description: 'Repeated and/or comma-joined locators (URL-encoded); at most 100 in all', maxItems: MAX_LIST_ENTRIES }),
    ),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: DEFAULT_PAGE_SIZE })),
    after: Type.Optional(Type.String({ maxLength: 200, description: 'Cursor from the previous page’s Link header' })),
    shouldFetchMetadata: Type.Optional(Type.Boolean({ description: 'true: each user carries entityMetadata' })),
    withProfileAttributes: Type.Optional(Type.String({ description: 'Comma-separated attribute keys, or *' })),
    metadata: Type.Optional(
      Type.String({
        maxLength: 8_192,
        description:
          'Only users whose metadata matches: a JSON object {"key","value","operator":"Equals"|"Contains"}, or a JSON array of {"key","value"} that must all equal',
      }),
    ),
    sandboxed: Type.Optional(Type.String({ description: 'Accepted and ignored' })),
  },
  { additionalProperties: true },
);

const UserReadQuery = Type.Object(
  {
    shouldFetchMetadata: Type.Optional(Type.Boolean()),
    withProfileAttributes: Type.Optional(Type.String({ description: 'Comma-separated attribute keys, or *' })),
  },
  { additionalProperties: true },
);

/** Any `locators` parameter, even an empty one, makes the request a lookup (never a listing). */
function hasLocatorQuery(request: FastifyRequest): boolean {
  // Runs before validation: the query is whatever the parser made of the URL.
  const query: unknown = request.query;
  return typeof query === 'object' && query !== null && Object.hasOwn(query, 'locators');
}

/** What `withProfileAttributes` asks for: nothing (null), every attribute (`*`), or these keys. */
type ProfileSelection = null | '*' | string[];

function parseProfileSelection(value: string | undefined): ProfileSelection {
  if (value === undefined || value.trim() === '') return null;
  if (value.trim() === '*') return '*';
  const keys = splitCommaList(value);
  if (keys.length > MAX_LIST_ENTRIES || !keys.every((key) => ATTRIBUTE_KEY_PATTERN.test(key))) {
    throw invalidEntity(
      { field: 'withProfileAttributes', location: 'query' },
      'pattern',
      'comma-separated attribute keys ([A-Za-z0-9._-], 1–128 characters), at most 100, or *',
    );
  }
  return [...new Set(keys)];
}

/** What a user read adds to each user: profile attributes (`withProfileAttributes`), metadata (`shouldFetchMetadata`). */
interface UserExtras {
  selection: ProfileSelection;
  metadata: boolean;
}

/** Nothing added: the users as they are (and as src/wire writes them ahead). */
const noExtras = (extras: UserExtras) => extras.selection === null && !extras.metadata;

/**
 * Users in the wire shape, with what `extras` asks for (one query per kind for all of them). A
 * profile hidden from the caller (the user blocks it) reads as empty.
 */
async function toWireUsers(locus: Locus, principal: Principal, users: StoredUser[], extras: UserExtras): Promise<WireUser[]> {
  if (noExtras(extras)) return users.map((user) => toWireUser(user));
  const applicationId = applicationOf(principal);
  const [attributes, view, metadata] = await Promise.all([
    extras.selection === null ? null : locus.profiles.profilesOf(applicationId, users, extras.selection === '*' ? null : extras.selection),
    extras.selection === null
      ? null
      : locus.social.viewpoint(
          principal,
          users.map((user) => user.userId),
        ),
    extras.metadata
      ? locus.metadata.ofUsers(
          applicationId,
          users.map((user) => user.userId),
        )
      : null,
  ]);
  return users.map((user) =>
    toWireUser(user, {
      ...(attributes && view ? { entityProfile: toWireEntityProfile(user.userId, view.profile(user.userId) ? (attributes.get(user.id) ?? []) : []) } : {}),
      ...(metadata ? { entityMetadata: { metadata: (metadata.get(user.userId) ?? []).map(toWireMetadata) } } : {}),
    }),
  );
}

/** `limit` and `after` of the newest-first logs (deletions, reports, feedback). */
export const PageQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: DEFAULT_PAGE_SIZE })),
    after: Type.Optional(Type.String({ maxLength: 200, description: 'Cursor from the previous page’s Link header' })),
  },
  { additionalProperties: true },
);

/** A newest-first log's cursor: the last entry's time and id. */
export function encodeTimeCursor(atMs: number, id: string): string {
  return Buffer.from(`${atMs}:${id}`, 'utf8').toString('base64url');
}

export function decodeTimeCursor(cursor: string): { atMs: number; id: string } {
  const match = /^(\d{1,15}):([A-Za-z0-9]{1,40})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!match) throw invalidEntity({ field: 'after', location: 'query' }, 'cursor', 'not a cursor from this API');
  return { atMs: Number(match[1]), id: match[2] as string };
}

/** A text field of a request body: `min`–`max` characters, no control characters but newlines and tabs. */
export function parseText(value: unknown, where: Where, bounds: { min: number; max: number }): string {
  if (typeof value !== 'string') throw invalidEntity(where, 'type', 'must be a string');
  if (value.length < bounds.min) throw invalidEntity(where, 'minLength', bounds.min === 1 ? 'must not be empty' : `at least ${bounds.min} characters`);
  if (value.length > bounds.max) throw invalidEntity(where, 'maxLength', `at most ${bounds.max} characters`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(value)) throw invalidEntity(where, 'pattern', 'no control characters');
  return value;
}

/** The body of a deletion: `{reason, feedback?}`, required when a user deletes itself. */
function parseDeletionReason(body: unknown, required: boolean): { reason: string | null; feedback: string | null } {
  if (body === undefined || body === null || (isRecord(body) && Object.keys(body).length === 0 && !required)) {
    if (required) throw invalidEntity({ field: 'reason', location: 'body' }, 'required', 'say why the account is deleted: {"reason": 1–200 characters}');
    return { reason: null, feedback: null };
  }
  if (!isRecord(body)) throw invalidEntity({ field: 'body', location: 'body' }, 'type', 'a JSON object {"reason", "feedback"?}');
  if (body.reason === undefined && required) {
    throw invalidEntity({ field: 'reason', location: 'body' }, 'required', 'say why the account is deleted: {"reason": 1–200 characters}');
  }
  const reason = body.reason === undefined || body.reason === null ? null : parseText(body.reason, { field: 'reason', location: 'body' }, { min: 1, max: 200 });
  const feedback =
    body.feedback === undefined || body.feedback === null ? null : parseText(body.feedback, { field: 'feedback', location: 'body' }, { min: 0, max: 4_000 });
  return { reason, feedback };
}

export function encodeCursor(userId: string): string {
  return Buffer.from(userId, 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string): string {
  const userId = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!USER_ID_PATTERN.test(userId)) {
    throw invalidEntity({ field: 'after', location: 'query' }, 'cursor', 'not a cursor from this API');
  }
  return userId;
}

function parseNewUserLocators(inputs: unknown[]): LocatorInput[] {
  const seen = new Set<string>();
  return inputs.map((input, i) => {
    const where = { field: `userLocators[${i}]`, location: 'body' } as const;
    const parsed = parseLocatorInput(input, where);
    if (seen.has(parsed.locator.locator)) throw invalidEntity(where, 'duplicate', 'the same locator appears twice');
    seen.add(parsed.locator.locator);
    return parsed;
  });
}

/** The target user resolved by the policy hook (routes that declare `targetUser`). */
export async function userRoutes(app: RouteApp): Promise<void> {
  const { locus } = app;
  const users = locus.users;
  const tags = ['users'];
  const security = SIGNED_OR_TOKEN;

  app.post(
    '/v1/users',
    {
      config: { action: 'users.create' },
      schema: {
        summary: 'Create a user',
        tags,
        security,
        body: CreateUserBody,
        response: { 200: Type.Object({ identifier: Type.String() }), ...errorResponses('missing_privilege', 'duplicate_entity') },
      },
    },
    async (request) => {
      const body = request.body;
      if (body.systemUser === true) {
        throw invalidEntity({ field: 'systemUser', location: 'body' }, 'reserved', 'system users cannot be created');
      }
      const userId = body.userId === undefined || body.userId === null ? null : parseUserId(body.userId, { field: 'userId', location: 'body' });
      const screenName = parseScreenName(body.screenName.screenName, { field: 'screenName.screenName', location: 'body' });
      const locators = parseNewUserLocators(body.userLocators ?? []);
      const created = await users.create(applicationOf(request.principal), { userId, screenName, locators });
      return { identifier: created.userId };
    },
  );

  app.get(
    '/v1/users',
    {
      config: { action: 'users.lookup', selectAction: (request) => (hasLocatorQuery(request) ? 'users.lookup' : 'users.list') },
      schema: {
        summary: 'Look users up by locator, or list every user (.system only)',
        description:
          'With `locators`: the users owning them (each once, in request order; no paging). Without: every user in user-id order, ' +
          '`limit` per page; a `Link: <…>; rel="next"` header carries the next page. `X-Mitter-Paginated-Estimated-Count` gives the total.',
        tags,
        security,
        querystring: UsersQuery,
        response: { 200: Type.Array(Type.Ref('User')), ...errorResponses('missing_privilege') },
      },
    },
    async (request, reply) => {
      const query = request.query;
      const extras = { selection: parseProfileSelection(query.withProfileAttributes), metadata: query.shouldFetchMetadata === true };
      const conditions = query.metadata === undefined || query.metadata === '' ? [] : parseMetadataFilter(query.metadata);
      const applicationId = applicationOf(request.principal);
      if (hasLocatorQuery(request)) {
        // The policy allowed a lookup, so this branch must never fall through to the listing.
        const locators: Locator[] = parseCommaList(query.locators, {
          where: { field: 'locators', location: 'query' },
          dropEmpty: true,
          min: 1,
          minMessage: 'give at least one locator',
          max: MAX_LIST_ENTRIES,
          entry: parseQueryLocator,
        });
        let found = await users.findByLocators(applicationId, locators);
        // A user that blocks the caller is not found by its locators.
        const finds = await locus.social.unblocked(request.principal);
        found = found.filter((user) => finds(user.userId));
        if (conditions.length > 0) {
          const metadata = await locus.metadata.ofUsers(
            applicationId,
            found.map((user) => user.userId),
          );
          found = found.filter((user) => meetsConditions(metadata.get(user.userId) ?? [], conditions));
        }
        reply.header('x-mitter-paginated-estimated-count', String(found.length));
        if (noExtras(extras)) return sendWritten(reply, wireUsersJson(found));
        return toWireUsers(locus, request.principal, found, extras);
      }
      const limit = query.limit ?? DEFAULT_PAGE_SIZE;
      const after = query.after === undefined || query.after === '' ? null : decodeCursor(query.after);
      const [page, total] = await Promise.all([users.list(applicationId, { limit, after, metadata: conditions }), users.count(applicationId, conditions)]);
      reply.header('x-mitter-paginated-estimated-count', String(total));
      if (page.nextAfter !== null) {
        const filter = conditions.length > 0 ? `&metadata=${encodeURIComponent(query.metadata ?? '')}` : '';
        reply.header('link', `</v1/users?limit=${limit}&after=${encodeCursor(page.nextAfter)}${filter}>; rel="next"`);
      }
      return toWireUsers(locus, request.principal, page.users, extras);
    },
  );

  app.get(
    '/v1/users/:userId',
    {
      config: { action: 'users.read', targetUser: 'userId' },
      schema: {
        summary: 'Read a user (`me`: the acting user)',
        tags,
        security,
        params: UserParams,
        querystring: UserReadQuery,
        response: { 200: Type.Ref('User'), ...errorResponses('missing_privilege', 'entity_not_found') },
      },
    },
    async (request, reply) => {
      const extras = { selection: parseProfileSelection(request.query.withProfileAttributes), metadata: request.query.shouldFetchMetadata === true };
      const user = await users.get(applicationOf(request.principal), targetUserOf(request));
      if (noExtras(extras)) return sendWritten(reply, wireUserJson(user));
      const [wire] = await toWireUsers(locus, request.principal, [user], extras);
      return wire;
    },
  );

  app.delete(
    '/v1/users/:userId',
    {
      config: {
        action: 'users.delete',
        targetUser: 'userId',
        selectAction: (request) => (request.principal.kind === 'user' ? 'users.delete_self' : 'users.delete'),
      },
      schema: {
        summary: 'Delete a user (`.system`), or one’s own account (`me`, with a reason)',
        description:
          'Revokes every token and removes the user with its locators (freed for reuse), presence, profile, password, metadata, blocks and ' +
          'contacts in both directions; the id cannot be created again for 30 days. A user deleting itself sends ' +
          '`{"reason": 1–200 characters, "feedback"?: ≤ 4,000}`; `.system` may send the same. Both are kept in the deletions log (`GET /v1/deletions`).',
        tags,
        security,
        params: UserParams,
        body: Type.Unsafe<unknown>({ description: '{"reason", "feedback"?}: required when a user deletes itself' }),
        response: { 200: EmptyObject, ...errorResponses('missing_privilege', 'entity_not_found') },
      },
    },
    async (request) => {
      const self = request.principal.kind === 'user';
      const { reason, feedback } = parseDeletionReason(request.body, self);
      await users.delete(applicationOf(request.principal), targetUserOf(request), { by: self ? 'self' : 'system', reason, feedback });
      return {};
    },
  );

  app.get(
    '/v1/deletions',
    {
      config: { action: 'users.deletions.read' },
      schema: {
        summary: 'The deletions log: deleted users, newest first, with who deleted them and why',
        description: 'Paginated: `limit` (1–100, default 50) per page; a `Link: <…>; rel="next"` header carries the next page.',
        tags,
        security,
        querystring: PageQuery,
        response: {
          200: Type.Object({
            deletions: Type.Array(
              Type.Object({
                userId: Type.String(),
                reason: Type.Unsafe<string | null>({ type: 'string', nullable: true }),
                feedback: Type.Unsafe<string | null>({ type: 'string', nullable: true }),
                deletedAtMs: Type.Integer(),
                by: Type.Unsafe<'self' | 'system'>({ type: 'string', enum: ['self', 'system'] }),
              }),
            ),
          }),
          ...errorResponses('missing_privilege'),
        },
      },
    },
    async (request, reply) => {
      const limit = request.query.limit ?? DEFAULT_PAGE_SIZE;
      const after = request.query.after ? decodeTimeCursor(request.query.after) : null;
      const page = await users.deletionsLog(applicationOf(request.principal), { limit, after: after && { deletedAt: new Date(after.atMs), id: after.id } });
      if (page.next) reply.header('link', `</v1/deletions?limit=${limit}&after=${encodeTimeCursor(page.next.deletedAt.getTime(), page.next.id)}>; rel="next"`);
      return {
        deletions: page.deletions.map((entry) => ({
          userId: entry.userId,
          reason: entry.reason,
          feedback: entry.feedback,
          deletedAtMs: entry.deletedAt.getTime(),
          by: entry.by,
        })),
      };
    },
  );

  app.put(
    '/v1/users/:userId/screenname',
    {
      config: { action: 'users.screenname.write', targetUser: 'userId' },
      schema: {
        summary: 'Change a user’s screen name',
        tags,
        security,
        params: UserParams,
        body: Type.Object({ screenName: Type.String() }, { additionalProperties: true }),
        response: { 200: EmptyObject, ...errorResponses('missing_privilege', 'entity_not_found') },
      },
    },
    async (request) => {
      const screenName = parseScreenName(request.body.screenName, { field: 'screenName', location: 'body' });
      await users.setScreenName(applicationOf(request.principal), targetUserOf(request), screenName);
      return {};
    },
  );

  app.get(
    '/v1/users/:userIds/screenname',
    {
      config: { action: 'users.read' },
      schema: {
        summary: 'Screen names of users, in request order',
        tags,
        security,
        params: UserIdsParams,
        response: {
          200: Type.Object({ screenNames: Type.Array(Type.Object({ screenName: Type.String() })) }),
          ...errorResponses('missing_privilege', 'entity_not_found'),
        },
      },
    },
    async (request) => {
      const names = await users.screenNames(applicationOf(request.principal), userIdsOf(request.principal, request.params.userIds));
      return { screenNames: names.map((screenName) => ({ screenName })) };
    },
  );

  app.post(
    '/v1/users/:userId/locators',
    {
      config: { action: 'users.locators.write', targetUser: 'userId' },
      schema: {
        summary: 'Add a locator to a user',
        description: `A locator belongs to at most one user of the application (409 \`duplicate_entity\`); a user holds at most ${MAX_LOCATORS_PER_USER}. Only .system may store Verified or VerificationPending.`,
        tags,
        security,
        params: UserParams,
        body: LocatorInputSchema,
        response: { 200: EmptyObject, ...errorResponses('missing_privilege', 'entity_not_found', 'duplicate_entity', 'limit_exceeded') },
      },
    },
    async (request) => {
      const input = parseLocatorInput(request.body, { field: 'body', location: 'body' });
      if (ATTESTED_STATUSES.has(input.verificationStatus)) {
        const decision = authorize(request.principal, 'users.locators.attest');
        if (!decision.allowed) throw decision.error;
      }
      await users.addLocator(applicationOf(request.principal), targetUserOf(request), input);
      return {};
    },
  );

  app.delete(
    '/v1/users/:userId/locators/:userLocatorId',
    {
      config: { action: 'users.locators.write', targetUser: 'userId' },
      schema: {
        summary: 'Remove a locator from a user',
        tags,
        security,
        params: Type.Object({ userId: UserParams.properties.userId, userLocatorId: Type.String({ maxLength: 64 }) }),
        response: { 200: EmptyObject, ...errorResponses('missing_privilege', 'entity_not_found') },
      },
    },
    async (request) => {
      const { userLocatorId } = request.params;
      await users.removeLocator(applicationOf(request.principal), targetUserOf(request), userLocatorId);
      return {};
    },
  );
}
