// HTTP routes of blocks, contacts and privacy (docs/social.md).
import { Type } from 'typebox';
import { applicationOf } from '../../auth/principal.ts';
import { targetUserOf } from '../../policy/authorize.ts';
import { type RouteApp, errorResponses, SIGNED_OR_TOKEN } from '../../schemas.ts';
import { NullablePresenceSchema, toWirePresence } from '../../wire/presence.ts';
import { toWireUser } from '../../wire/users.ts';
import { parseUserId } from '../users/rules.ts';
import { userNotFound } from '../users/service.ts';
import { decodeCursor, DEFAULT_PAGE_SIZE, EmptyObject, encodeCursor, UserParams, userIdsOf, USER_ID_PARAM } from '../users/routes.ts';
import { MAX_BLOCKS_PER_USER, MAX_CONTACTS_PER_USER } from './service.ts';
import { VISIBILITIES } from './types.ts';

const UsersList = Type.Object({ users: Type.Array(Type.Ref('User')) });

const VisibilitySchema = Type.Unsafe<'everyone' | 'contacts' | 'nobody'>({ type: 'string', enum: [...VISIBILITIES] });
const PrivacySchema = Type.Object({ presence: VisibilitySchema, lastSeen: VisibilitySchema });

const BlockParams = Type.Object({ userId: UserParams.properties.userId, blockedUserId: USER_ID_PARAM });
const ContactsParams = Type.Object({ userId: UserParams.properties.userId, userIds: Type.String({ description: 'Comma-separated user ids, at most 100' }) });

export async function socialRoutes(app: RouteApp): Promise<void> {
  const { social, users, presence } = app.locus;
  const tags = ['social'];
  const security = SIGNED_OR_TOKEN;

  app.post(
    '/v1/users/:userId/blocked-users/:blockedUserId',
    {
      config: { action: 'social.blocks.write', targetUser: 'userId' },
      schema: {
        summary: 'Block a user (idempotent)',
        description: `The blocked user no longer sees the blocker's presence, last seen or profile, nor finds it by locator, nor receives its events. At most ${MAX_BLOCKS_PER_USER} blocks per user.`,
        tags,
        security,
        params: BlockParams,
        response: { 200: EmptyObject, ...errorResponses('missing_privilege', 'entity_not_found', 'limit_exceeded') },
      },
    },
    async (request) => {
      const blocked = parseUserId(request.params.blockedUserId, { field: 'blockedUserId', location: 'path' });
      await social.block(applicationOf(request.principal), targetUserOf(request), blocked);
      return {};
    },
  );

  app.delete(
    '/v1/users/:userId/blocked-users/:blockedUserId',
    {
      config: { action: 'social.blocks.write', targetUser: 'userId' },
      schema: {
        summary: 'Unblock a user (idempotent)',
        tags,
        security,
        params: BlockParams,
        response: { 200: EmptyObject, ...errorResponses('missing_privilege', 'entity_not_found') },
      },
    },
    async (request) => {
      const blocked = parseUserId(request.params.blockedUserId, { field: 'blockedUserId', location: 'path' });
      await social.unblock(applicationOf(request.principal), targetUserOf(request), blocked);
      return {};
    },
  );

  for (const [path, direction, summary] of [
    ['blocked-users', 'blocking', 'The users this user blocks, oldest block first'],
    ['blocked-by', 'blockedBy', 'The users who block this user, oldest block first'],
  ] as const) {
    app.get(
      `/v1/users/:userId/${path}`,
      {
        config: { action: 'social.blocks.read', targetUser: 'userId' },
        schema: { summary, tags, security, params: UserParams, response: { 200: UsersList, ...errorResponses('missing_privilege', 'entity_not_found') } },
      },
      async (request) => {
        const applicationId = applicationOf(request.principal);
        const ids = await social.blockList(applicationId, targetUserOf(request), direction);
        return { users: (await users.getMany(applicationId, ids)).map((user) => toWireUser(user)) };
      },
    );
  }

  app.put(
    '/v1/users/:userId/contacts/:userIds',
    {
      config: { action: 'social.contacts.write', targetUser: 'userId' },
      schema: {
        summary: 'Add users to a contact list',
        description: `At most 100 per call and ${MAX_CONTACTS_PER_USER} per list; each must exist. Adding a contact twice changes nothing.`,
        tags,
        security,
        params: ContactsParams,
        response: { 200: EmptyObject, ...errorResponses('missing_privilege', 'entity_not_found', 'limit_exceeded') },
      },
    },
    async (request) => {
      const ids = userIdsOf(request.principal, request.params.userIds);
      await social.addContacts(applicationOf(request.principal), targetUserOf(request), ids);
      return {};
    },
  );

  app.delete(
    '/v1/users/:userId/contacts/:userIds',
    {
      config: { action: 'social.contacts.write', targetUser: 'userId' },
      schema: {
        summary: 'Remove users from a contact list (ids not in it are ignored)',
        tags,
        security,
        params: ContactsParams,
        response: { 200: EmptyObject, ...errorResponses('missing_privilege', 'entity_not_found') },
      },
    },
    async (request) => {
      const ids = userIdsOf(request.principal, request.params.userIds);
      await social.removeContacts(applicationOf(request.principal), targetUserOf(request), ids);
      return {};
    },
  );

  app.get(
    '/v1/users/:userId/contacts',
    {
      config: { action: 'social.contacts.read', targetUser: 'userId' },
      schema: {
        summary: 'A contact list with presence and last seen',
        description:
          'In user-id order, `limit` per page (a `Link: <…>; rel="next"` header carries the next page; `X-Mitter-Paginated-Estimated-Count` the total). ' +
          'Privacy and blocks apply: a contact that blocks the reader is left out, a hidden presence or last seen is null.',
        tags,
        security,
        params: UserParams,
        querystring: Type.Object(
          {
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: DEFAULT_PAGE_SIZE })),
            after: Type.Optional(Type.String({ maxLength: 200, description: 'Cursor from the previous page’s Link header' })),
          },
          { additionalProperties: true },
        ),
        response: {
          200: Type.Object({
            contacts: Type.Array(
              Type.Object({
                user: Type.Ref('User'),
                presence: NullablePresenceSchema,
                lastSeenMs: Type.Unsafe<number | null>({ type: 'integer', nullable: true, description: 'Epoch ms' }),
              }),
            ),
          }),
          ...errorResponses('missing_privilege', 'entity_not_found'),
        },
      },
    },
    async (request, reply) => {
      const applicationId = applicationOf(request.principal);
      const ownerId = targetUserOf(request);
      if (!(await users.exists(applicationId, ownerId))) throw userNotFound(ownerId);
      const limit = request.query.limit ?? DEFAULT_PAGE_SIZE;
      const after = request.query.after === undefined || request.query.after === '' ? null : decodeCursor(request.query.after);
      const [page, total] = await Promise.all([social.contactsPage(applicationId, ownerId, { limit, after }), social.countContacts(applicationId, ownerId)]);
      const found = await users.getMany(applicationId, page.contactIds);
      const ids = found.map((user) => user.userId);
      const view = await social.viewpoint(request.principal, ids);
      const [presences, lastSeen] = await Promise.all([presence.read(applicationId, ids), presence.lastSeen(applicationId, ids)]);
      reply.header('x-mitter-paginated-estimated-count', String(total));
      if (page.nextAfter !== null)
        reply.header('link', `</v1/users/${request.params.userId}/contacts?limit=${limit}&after=${encodeCursor(page.nextAfter)}>; rel="next"`);
      const contacts = found.flatMap((user, i) => {
        // A contact that blocks the reader is not in the reader's view at all.
        if (!view.finds(user.userId)) return [];
        const active = presences[i]?.presence ?? null;
        return [
          {
            user: toWireUser(user),
            presence: active !== null && view.presence(user.userId) ? toWirePresence(active) : null,
            lastSeenMs: view.lastSeen(user.userId) ? (lastSeen[i]?.lastSeenMs ?? null) : null,
          },
        ];
      });
      return { contacts };
    },
  );

  app.get(
    '/v1/users/:userId/privacy',
    {
      config: { action: 'social.privacy.read', targetUser: 'userId' },
      schema: {
        summary: 'Who sees a user’s presence and last seen',
        tags,
        security,
        params: UserParams,
        response: { 200: PrivacySchema, ...errorResponses('missing_privilege', 'entity_not_found') },
      },
    },
    async (request) => social.privacy(applicationOf(request.principal), targetUserOf(request)),
  );

  app.put(
    '/v1/users/:userId/privacy',
    {
      config: { action: 'social.privacy.write', targetUser: 'userId' },
      schema: {
        summary: 'Set who sees a user’s presence and last seen',
        description: '`everyone` (the default), `contacts` (the users this user has in its contacts) or `nobody`. A field left out keeps its value.',
        tags,
        security,
        params: UserParams,
        body: Type.Object({ presence: Type.Optional(VisibilitySchema), lastSeen: Type.Optional(VisibilitySchema) }, { additionalProperties: false }),
        response: { 200: PrivacySchema, ...errorResponses('missing_privilege', 'entity_not_found') },
      },
    },
    async (request) => {
      const applicationId = applicationOf(request.principal);
      const userId = targetUserOf(request);
      const current = await social.privacy(applicationId, userId);
      const next = { presence: request.body.presence ?? current.presence, lastSeen: request.body.lastSeen ?? current.lastSeen };
      await social.setPrivacy(applicationId, userId, next);
      return next;
    },
  );
}
