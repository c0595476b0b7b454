// The operator console at /console (docs/console.md). Pages are HTML rendered here; the console API
// under /console/api answers JSON. Every route is a console route: the pipeline makes its caller
// the operator of the session the cookie names (or anonymous), and the policy table decides. The
// API also refuses requests from any other origin, so another site cannot drive a signed-in browser.
import { readFileSync } from 'node:fs';
import { Type } from 'typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from '../../errors.ts';
import { type RouteApp, errorResponses } from '../../schemas.ts';
import { APPLICATIONS_CHANGED_TOPIC, ApplicationRequestError } from '../applications/service.ts';
import { SettingsError } from '../applications/settings.ts';
import { createEventsStore } from '../events/store.ts';
import { parseWebhookTypes, WebhookRequestError, WebhooksAdmin } from '../webhooks/admin.ts';
import { createWebhooksStore } from '../webhooks/store.ts';
import { SESSION_COOKIE, SESSION_TTL_MS } from './service.ts';
import {
  applicationPage,
  applicationsPage,
  errorPage,
  eventsPage,
  moderationPage,
  presencePage,
  signedInPage,
  signedOutPage,
  userPage,
  usersPage,
} from './views.ts';
import { SSE_ROUTE, SseResponse, streamApplicationEvents } from '../events/sse.ts';
import { EVENT_TYPES } from '../events/types.ts';
import { parseLocatorString } from '../users/locators.ts';
import { USER_ID_PATTERN } from '../users/rules.ts';
import type { StoredUser } from '../users/types.ts';

const ASSETS = {
  'console.js': { type: 'text/javascript; charset=utf-8', body: readFileSync(new URL('./assets/console.js', import.meta.url)) },
  'console.css': { type: 'text/css; charset=utf-8', body: readFileSync(new URL('./assets/console.css', import.meta.url)) },
  'favicon.svg': { type: 'image/svg+xml', body: readFileSync(new URL('./assets/favicon.svg', import.meta.url)) },
} as const;

/** Pages may load only this origin's script and style, and no one may frame them. */
const PAGE_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
};

const tags = ['console'];
/** The presence page counts at most this many stored presences. */
const MAX_COUNTED_PRESENCES = 100_000;

function html(reply: FastifyReply, status: number, body: string): FastifyReply {
  return reply.code(status).headers(PAGE_HEADERS).type('text/html; charset=utf-8').send(body);
}

export async function consoleRoutes(app: RouteApp): Promise<void> {
  const { applications, users, tokens, presence, events, config } = app.locus;
  const secureCookie = new URL(config.publicUrl).protocol === 'https:';
  const cookie = (value: string, maxAgeSeconds: number) =>
    `${SESSION_COOKIE}=${value}; Path=/console; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}${secureCookie ? '; Secure' : ''}`;

  /** The origins a console API call may come from: the public URL's, and the one the browser addressed. */
  const publicOrigin = new URL(config.publicUrl).origin;
  const sameOrigin = (request: FastifyRequest, origin: string): boolean => {
    if (origin === publicOrigin) return true;
    const host = request.headers.host;
    return host !== undefined && (origin === `http://${host}` || origin === `https://${host}`);
  };

  const isApi = (request: FastifyRequest) => request.routeOptions.url?.startsWith('/console/api/') === true;

  app.addHook('onRequest', async (request) => {
    if (!isApi(request)) return;
    const origin = request.headers.origin;
    const writes = request.method !== 'GET' && request.method !== 'HEAD';
    if ((writes && origin === undefined) || (origin !== undefined && !sameOrigin(request, origin))) {
      throw new ApiError('missing_privilege', 'Console requests must come from the console’s own origin');
    }
  });

  // Pages answer HTML, also when they refuse: a signed-out browser gets the way to sign in.
  app.setErrorHandler((error: ApiError | Error, request, reply) => {
    if (isApi(request) || !(error instanceof ApiError)) throw error;
    if (error.statusCode === 401) return html(reply, 401, signedOutPage('no_session'));
    return html(reply, error.statusCode, errorPage(error.statusCode === 404 ? 'Not found' : 'Refused', error.message));
  });

  const pageSchema = (summary: string) => ({ summary, tags, produces: ['text/html'], response: { 200: Type.String(), ...errorResponses() } });

  app.get(
    '/console/assets/:file',
    { config: { action: 'console.assets', console: true }, schema: { hide: true, params: Type.Object({ file: Type.String({ maxLength: 32 }) }) } },
    async (request, reply) => {
      const asset = ASSETS[request.params.file as keyof typeof ASSETS];
      if (asset === undefined) throw new ApiError('entity_not_found', 'No such console asset', { entityType: 'asset' });
      return reply.type(asset.type).header('cache-control', 'no-cache').send(asset.body);
    },
  );

  app.get(
    '/console/login/:secret',
    {
      config: { action: 'console.login', console: true },
      schema: { ...pageSchema('Open a console session with a one-time login link'), params: Type.Object({ secret: Type.String({ maxLength: 64 }) }) },
    },
    async (request, reply) => {
      const session = await app.locus.console.login(request.params.secret);
      if (session === null) return html(reply, 401, signedOutPage('link_refused'));
      // A page, not a redirect: the next navigation starts on this origin, so the SameSite=Strict
      // cookie goes with it even when the link was opened from another site (a chat, a mail).
      reply.header('set-cookie', cookie(session.secret, SESSION_TTL_MS / 1000));
      reply.header('refresh', '0; url=/console');
      return html(reply, 200, signedInPage());
    },
  );

  app.get(
    '/console',
    { config: { action: 'console.read', console: true }, schema: pageSchema('The console: applications and their keys') },
    async (_request, reply) => html(reply, 200, applicationsPage(await applications.list())),
  );

  app.get(
    '/console/api/applications',
    {
      config: { action: 'console.read', console: true },
      schema: {
        summary: 'Every application with its access keys',
        tags,
        response: {
          200: Type.Array(
            Type.Object({
              applicationId: Type.String(),
              name: Type.String(),
              createdAt: Type.String(),
              accessKeys: Type.Array(Type.Object({ accessKey: Type.String(), createdAt: Type.String(), revokedAt: Type.Union([Type.String(), Type.Null()]) })),
            }),
          ),
          ...errorResponses('authorization_exception', 'missing_privilege'),
        },
      },
    },
    async () => applications.list(),
  );

  app.post(
    '/console/api/applications',
    {
      config: { action: 'console.applications.write', console: true },
      schema: {
        summary: 'Create an application; its first access secret is in this answer only',
        tags,
        body: Type.Object({ name: Type.String({ minLength: 1, maxLength: 128 }) }, { additionalProperties: false }),
        response: {
          200: Type.Object({ applicationId: Type.String(), name: Type.String(), accessKey: Type.String(), accessSecret: Type.String() }),
          ...errorResponses('invalid_entity', 'authorization_exception', 'missing_privilege'),
        },
      },
    },
    async (request) => {
      try {
        return await applications.create(request.body.name);
      } catch (error) {
        if (error instanceof ApplicationRequestError) throw new ApiError('invalid_entity', error.message, { field: 'name', location: 'body', rule: 'name' });
        throw error;
      }
    },
  );

  const PAGE_SIZE = 50;

  /** The application a console request names, or 404. */
  const requireApplication = async (applicationId: string) => {
    const application = await applications.get(applicationId);
    if (application === null)
      throw new ApiError('entity_not_found', `No application ${applicationId}`, { entityType: 'application', entityLocator: applicationId });
    return application;
  };

  /**
   * The console's user search: nothing (every user, a page at a time), a locator (`email:…`,
   * `tele:…`, an address with @, a number starting with +), or a user id and the beginning of a
   * screen name. A locator that does not parse is an ApiError naming the problem.
   */
  const searchUsers = async (applicationId: string, q: string, after: string | null): Promise<{ users: StoredUser[]; next: string | null }> => {
    const text = q.trim();
    if (text === '') {
      const page = await users.list(applicationId, { limit: PAGE_SIZE, after });
      return { users: page.users, next: page.nextAfter };
    }
    const where = { field: 'q', location: 'query' } as const;
    const locator = /^(email|tele):/i.test(text) ? text : text.includes('@') ? `email:${text}` : text.startsWith('+') ? `tele:${text}` : null;
    if (locator !== null) return { users: await users.findByLocators(applicationId, [parseLocatorString(locator, where)]), next: null };
    const byId = USER_ID_PATTERN.test(text) ? await users.getMany(applicationId, [text]) : [];
    const byName = await users.searchByScreenName(applicationId, text, PAGE_SIZE);
    return { users: [...byId, ...byName.filter((u) => !byId.some((found) => found.id === u.id))], next: null };
  };

  const usersQuery = Type.Object(
    {
      applicationId: Type.Optional(Type.String({ maxLength: 32 })),
      q: Type.Optional(Type.String({ maxLength: 260 })),
      after: Type.Optional(Type.String({ maxLength: 72 })),
    },
    { additionalProperties: false },
  );

  app.get(
    '/console/users',
    { config: { action: 'console.read', console: true }, schema: { ...pageSchema('Find users of an application'), querystring: usersQuery } },
    async (request, reply) => {
      const query = request.query;
      const listed = await applications.list();
      const applicationId = query.applicationId ?? listed[0]?.applicationId ?? null;
      const view = {
        applications: listed,
        applicationId,
        query: query.q ?? '',
        users: null as StoredUser[] | null,
        problem: null as string | null,
        next: null as string | null,
      };
      if (applicationId !== null) {
        await requireApplication(applicationId);
        try {
          const found = await searchUsers(applicationId, view.query, query.after ?? null);
          view.users = found.users;
          view.next = found.next;
        } catch (error) {
          if (!(error instanceof ApiError) || error.statusCode !== 400) throw error;
          view.problem = error.message;
        }
      }
      return html(reply, 200, usersPage(view));
    },
  );

  const userParams = Type.Object({ applicationId: Type.String({ maxLength: 32 }), userId: Type.String({ maxLength: 72 }) });

  app.get(
    '/console/users/:applicationId/:userId',
    {
      config: { action: 'console.read', console: true },
      schema: { ...pageSchema('A user: locators, profile, metadata, presence, last seen, blocks, contacts, tokens, suspension'), params: userParams },
    },
    async (request, reply) => {
      const { applicationId, userId } = request.params;
      await requireApplication(applicationId);
      const user = await users.get(applicationId, userId);
      // The operator sees everything: these are the services' own reads, not a user's filtered view.
      const [list, profile, metadata, [presenceNow], [seen], blocking, blockedBy, contacts, contactCount] = await Promise.all([
        tokens.list(applicationId, userId, null),
        app.locus.profiles.profile(applicationId, userId),
        app.locus.metadata.list(applicationId, userId),
        presence.read(applicationId, [userId]),
        presence.lastSeen(applicationId, [userId]),
        app.locus.social.blockList(applicationId, userId, 'blocking'),
        app.locus.social.blockList(applicationId, userId, 'blockedBy'),
        app.locus.social.contactsPage(applicationId, userId, { limit: 100, after: null }),
        app.locus.social.countContacts(applicationId, userId),
      ]);
      const details = {
        profile,
        metadata,
        presence: presenceNow ?? { presence: null, setTimeMs: null },
        lastSeen: seen ?? { online: false, lastSeenMs: null },
        blocking,
        blockedBy,
        contacts: contacts.contactIds,
        contactCount,
      };
      return html(reply, 200, userPage(applicationId, user, list, details));
    },
  );

  const reasonBody = Type.Object({ reason: Type.String({ minLength: 1, maxLength: 200 }) }, { additionalProperties: false });
  const userWriteResponses = { 204: Type.Null(), ...errorResponses('invalid_entity', 'entity_not_found', 'authorization_exception', 'missing_privilege') };

  app.post(
    '/console/api/applications/:applicationId/users/:userId/suspension',
    {
      config: { action: 'console.users.write', console: true },
      schema: { summary: 'Suspend the user (its tokens are refused at once)', tags, params: userParams, body: reasonBody, response: userWriteResponses },
    },
    async (request, reply) => {
      const { applicationId, userId } = request.params;
      await requireApplication(applicationId);
      await app.locus.moderation.suspend(applicationId, userId, request.body.reason);
      return reply.code(204).send(null);
    },
  );

  app.delete(
    '/console/api/applications/:applicationId/users/:userId/suspension',
    {
      config: { action: 'console.users.write', console: true },
      schema: { summary: 'Reinstate a suspended user', tags, params: userParams, response: userWriteResponses },
    },
    async (request, reply) => {
      const { applicationId, userId } = request.params;
      await requireApplication(applicationId);
      await app.locus.moderation.reinstate(applicationId, userId);
      return reply.code(204).send(null);
    },
  );

  app.delete(
    '/console/api/applications/:applicationId/users/:userId',
    {
      config: { action: 'console.users.write', console: true },
      schema: {
        summary: 'Delete the user (recorded in the deletions log as by the back end, with the reason)',
        tags,
        params: userParams,
        body: reasonBody,
        response: userWriteResponses,
      },
    },
    async (request, reply) => {
      const { applicationId, userId } = request.params;
      await requireApplication(applicationId);
      await users.delete(applicationId, userId, { by: 'system', reason: request.body.reason, feedback: null });
      return reply.code(204).send(null);
    },
  );

  const consoleUser = Type.Object({
    userId: Type.String(),
    screenName: Type.String(),
    suspended: Type.Boolean(),
    locators: Type.Array(Type.String()),
  });

  app.get(
    '/console/api/applications/:applicationId/users',
    {
      config: { action: 'console.read', console: true },
      schema: {
        summary: 'Find users: every user a page at a time, by locator, or by user id and the beginning of a screen name',
        tags,
        params: Type.Object({ applicationId: Type.String({ maxLength: 32 }) }),
        querystring: Type.Object(
          { q: Type.Optional(Type.String({ maxLength: 260 })), after: Type.Optional(Type.String({ maxLength: 72 })) },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({ users: Type.Array(consoleUser), next: Type.Union([Type.String(), Type.Null()]) }),
          ...errorResponses('invalid_entity', 'entity_not_found', 'authorization_exception', 'missing_privilege'),
        },
      },
    },
    async (request) => {
      const { applicationId } = request.params;
      const query = request.query;
      await requireApplication(applicationId);
      const found = await searchUsers(applicationId, query.q ?? '', query.after ?? null);
      return {
        users: found.users.map((u) => ({ userId: u.userId, screenName: u.screenName, suspended: u.suspended, locators: u.locators.map((l) => l.locator) })),
        next: found.next,
      };
    },
  );

  const revokeSchema = (summary: string, params: ReturnType<typeof Type.Object>) => ({
    summary,
    tags,
    params,
    response: { 204: Type.Null(), ...errorResponses('entity_not_found', 'authorization_exception', 'missing_privilege') },
  });

  app.delete(
    '/console/api/applications/:applicationId/users/:userId/tokens',
    { config: { action: 'console.users.write', console: true }, schema: revokeSchema('Revoke every token of the user', userParams) },
    async (request, reply) => {
      const { applicationId, userId } = request.params as { applicationId: string; userId: string };
      await requireApplication(applicationId);
      await tokens.revoke(applicationId, userId, '*');
      return reply.code(204).send(null);
    },
  );

  app.delete(
    '/console/api/applications/:applicationId/users/:userId/tokens/:tokenId',
    {
      config: { action: 'console.users.write', console: true },
      schema: revokeSchema('Revoke one token of the user', Type.Object({ ...userParams.properties, tokenId: Type.String({ maxLength: 64 }) })),
    },
    async (request, reply) => {
      const { applicationId, userId, tokenId } = request.params as { applicationId: string; userId: string; tokenId: string };
      await requireApplication(applicationId);
      await tokens.revoke(applicationId, userId, [tokenId]);
      return reply.code(204).send(null);
    },
  );

  /** The application a page shows: the one asked for (404 if unknown), else the first. */
  const pickApplication = async (
    asked: string | undefined,
  ): Promise<{ listed: Awaited<ReturnType<typeof applications.list>>; applicationId: string | null }> => {
    const listed = await applications.list();
    if (asked !== undefined) await requireApplication(asked);
    return { listed, applicationId: asked ?? listed[0]?.applicationId ?? null };
  };
  const pickQuery = Type.Object({ applicationId: Type.Optional(Type.String({ maxLength: 32 })) }, { additionalProperties: false });

  app.get(
    '/console/presence',
    { config: { action: 'console.read', console: true }, schema: { ...pageSchema('Live presence: users by presence type'), querystring: pickQuery } },
    async (request, reply) => {
      const { listed, applicationId } = await pickApplication(request.query.applicationId);
      const counts = applicationId === null ? null : await presence.countsByType(applicationId, MAX_COUNTED_PRESENCES);
      return html(reply, 200, presencePage(listed, applicationId, counts));
    },
  );

  app.get(
    '/console/events',
    {
      config: { action: 'console.read', console: true },
      schema: {
        ...pageSchema('A live tail of the event log'),
        querystring: Type.Object(
          { applicationId: Type.Optional(Type.String({ maxLength: 32 })), types: Type.Optional(Type.String({ maxLength: 400 })) },
          { additionalProperties: false },
        ),
      },
    },
    async (request, reply) => {
      const query = request.query;
      const { listed, applicationId } = await pickApplication(query.applicationId);
      return html(reply, 200, eventsPage(listed, applicationId, query.types ?? '', EVENT_TYPES));
    },
  );

  const appParams = Type.Object({ applicationId: Type.String({ maxLength: 32 }) });

  app.get(
    '/console/api/applications/:applicationId/presence-counts',
    {
      config: { action: 'console.read', console: true },
      schema: {
        summary: 'How many users are in each presence type now',
        tags,
        params: appParams,
        response: {
          200: Type.Object({ counts: Type.Record(Type.String(), Type.Integer()), counted: Type.Integer(), truncated: Type.Boolean() }),
          ...errorResponses('entity_not_found', 'authorization_exception', 'missing_privilege'),
        },
      },
    },
    async (request) => {
      const { applicationId } = request.params;
      await requireApplication(applicationId);
      return presence.countsByType(applicationId, MAX_COUNTED_PRESENCES);
    },
  );

  app.get(
    '/console/api/applications/:applicationId/events',
    {
      sse: SSE_ROUTE,
      config: { action: 'console.read', console: true },
      schema: {
        summary: 'The application’s event log, live, for the console (Server-Sent Events; resumes with Last-Event-ID)',
        tags,
        params: appParams,
        querystring: Type.Object(
          { types: Type.Optional(Type.String({ maxLength: 400 })), lastEventId: Type.Optional(Type.String({ maxLength: 32 })) },
          { additionalProperties: false },
        ),
        response: { 200: SseResponse, ...errorResponses('invalid_entity', 'entity_not_found', 'authorization_exception', 'missing_privilege', 'rate_limited') },
      },
    },
    async (request, reply) => {
      const { applicationId } = request.params;
      const query = request.query;
      const application = await requireApplication(applicationId);
      await streamApplicationEvents({ events, places: app.locus.streams }, request, reply, {
        applicationId,
        maxStreams: application.settings.maxStreamsPerApp,
        typesText: query.types,
        lastEventId: query.lastEventId,
      });
    },
  );

  const webhooksAdmin = new WebhooksAdmin({
    store: createWebhooksStore(app.locus.db),
    eventLog: createEventsStore(app.locus.db),
    masterKey: config.masterKey,
    clock: app.locus.clock,
    applicationExists: async (id) => (await applications.get(id)) !== null,
  });
  /** What a change to applications or webhooks must reach: every instance's caches and dispatcher. */
  const applicationsChanged = async () => {
    app.locus.bus.publish(APPLICATIONS_CHANGED_TOPIC, {});
    await app.locus.webhooks.reload();
  };
  /** Runs a change, mapping the services' refusals (bad names, settings, URLs, limits) to 400s. */
  const refusing = async <T>(field: string, change: () => Promise<T>): Promise<T> => {
    try {
      return await change();
    } catch (error) {
      if (error instanceof ApplicationRequestError || error instanceof WebhookRequestError || error instanceof SettingsError) {
        throw new ApiError('invalid_entity', error.message, { field, location: 'body', rule: field });
      }
      throw error;
    }
  };

  app.get(
    '/console/applications/:applicationId',
    {
      config: { action: 'console.read', console: true },
      schema: { ...pageSchema('An application: name, access keys, settings, webhooks'), params: appParams },
    },
    async (request, reply) => {
      const { applicationId } = request.params;
      const application = await requireApplication(applicationId);
      const listing = (await applications.list()).find((a) => a.applicationId === applicationId);
      if (listing === undefined)
        throw new ApiError('entity_not_found', `No application ${applicationId}`, { entityType: 'application', entityLocator: applicationId });
      return html(reply, 200, applicationPage(listing, application.settings, await webhooksAdmin.list(applicationId)));
    },
  );

  const credentialsSchema = Type.Object({ applicationId: Type.String(), name: Type.String(), accessKey: Type.String(), accessSecret: Type.String() });

  app.put(
    '/console/api/applications/:applicationId/name',
    {
      config: { action: 'console.applications.write', console: true },
      schema: {
        summary: 'Rename the application',
        tags,
        params: appParams,
        body: Type.Object({ name: Type.String({ minLength: 1, maxLength: 128 }) }, { additionalProperties: false }),
        response: { 204: Type.Null(), ...errorResponses('invalid_entity', 'entity_not_found', 'authorization_exception', 'missing_privilege') },
      },
    },
    async (request, reply) => {
      const { applicationId } = request.params;
      await requireApplication(applicationId);
      await refusing('name', () => applications.rename(applicationId, request.body.name));
      await applicationsChanged();
      return reply.code(204).send(null);
    },
  );

  app.patch(
    '/console/api/applications/:applicationId/settings',
    {
      config: { action: 'console.applications.write', console: true },
      schema: {
        summary: 'Change settings (`name=value` each; `name=default` restores one); answers every setting',
        tags,
        params: appParams,
        body: Type.Object({ assignments: Type.Array(Type.String({ maxLength: 4000 }), { minItems: 1, maxItems: 50 }) }, { additionalProperties: false }),
        response: {
          200: Type.Object({}, { additionalProperties: true }),
          ...errorResponses('invalid_entity', 'entity_not_found', 'authorization_exception', 'missing_privilege'),
        },
      },
    },
    async (request) => {
      const { applicationId } = request.params;
      await requireApplication(applicationId);
      const settings = await refusing('assignments', () => applications.updateSettings(applicationId, request.body.assignments));
      await applicationsChanged();
      return settings;
    },
  );

  app.post(
    '/console/api/applications/:applicationId/keys',
    {
      config: { action: 'console.applications.write', console: true },
      schema: {
        summary: 'Add an access key; its secret is in this answer only',
        tags,
        params: appParams,
        response: { 200: credentialsSchema, ...errorResponses('invalid_entity', 'entity_not_found', 'authorization_exception', 'missing_privilege') },
      },
    },
    async (request) => {
      const { applicationId } = request.params;
      await requireApplication(applicationId);
      const added = await refusing('accessKey', () => applications.addKey(applicationId));
      await applicationsChanged();
      return added;
    },
  );

  app.delete(
    '/console/api/applications/:applicationId/keys/:accessKey',
    {
      config: { action: 'console.applications.write', console: true },
      schema: {
        summary: 'Revoke an access key (refused on every instance at once)',
        tags,
        params: Type.Object({ applicationId: Type.String({ maxLength: 32 }), accessKey: Type.String({ maxLength: 64 }) }),
        response: { 204: Type.Null(), ...errorResponses('invalid_entity', 'entity_not_found', 'authorization_exception', 'missing_privilege') },
      },
    },
    async (request, reply) => {
      const { applicationId, accessKey } = request.params;
      await requireApplication(applicationId);
      await refusing('accessKey', () => applications.revokeKey(applicationId, accessKey));
      await applicationsChanged();
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/console/api/applications/:applicationId/webhooks',
    {
      config: { action: 'console.applications.write', console: true },
      schema: {
        summary: 'Add a webhook; its signing secret is in this answer only',
        tags,
        params: appParams,
        body: Type.Object(
          { url: Type.String({ minLength: 1, maxLength: 2048 }), types: Type.Optional(Type.String({ maxLength: 400 })) },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            webhookId: Type.String(),
            applicationId: Type.String(),
            url: Type.String(),
            types: Type.Union([Type.Array(Type.String()), Type.Null()]),
            secret: Type.String(),
          }),
          ...errorResponses('invalid_entity', 'entity_not_found', 'authorization_exception', 'missing_privilege'),
        },
      },
    },
    async (request) => {
      const { applicationId } = request.params;
      const body = request.body;
      await requireApplication(applicationId);
      const created = await refusing('url', async () =>
        webhooksAdmin.add(applicationId, body.url, parseWebhookTypes(body.types?.trim() === '' ? undefined : body.types)),
      );
      await applicationsChanged();
      return created;
    },
  );

  app.delete(
    '/console/api/applications/:applicationId/webhooks/:webhookId',
    {
      config: { action: 'console.applications.write', console: true },
      schema: {
        summary: 'Remove a webhook',
        tags,
        params: Type.Object({ applicationId: Type.String({ maxLength: 32 }), webhookId: Type.String({ maxLength: 32 }) }),
        response: { 204: Type.Null(), ...errorResponses('invalid_entity', 'entity_not_found', 'authorization_exception', 'missing_privilege') },
      },
    },
    async (request, reply) => {
      const { applicationId, webhookId } = request.params;
      await requireApplication(applicationId);
      await refusing('webhookId', () => webhooksAdmin.remove(applicationId, webhookId));
      await applicationsChanged();
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/console/moderation',
    {
      config: { action: 'console.read', console: true },
      schema: { ...pageSchema('Reports, feedback and deletions of an application'), querystring: pickQuery },
    },
    async (request, reply) => {
      const { listed, applicationId } = await pickApplication(request.query.applicationId);
      if (applicationId === null) return html(reply, 200, moderationPage(listed, null, null));
      const [reports, feedback, deletions] = await Promise.all([
        app.locus.moderation.reports(applicationId, { userId: null, limit: PAGE_SIZE, after: null }),
        app.locus.moderation.feedback(applicationId, { limit: PAGE_SIZE, after: null }),
        users.deletionsLog(applicationId, { limit: PAGE_SIZE, after: null }),
      ]);
      return html(
        reply,
        200,
        moderationPage(listed, applicationId, { reports: reports.items, feedback: feedback.items, deletions: deletions.deletions, limit: PAGE_SIZE }),
      );
    },
  );

  app.post(
    '/console/api/logout',
    {
      config: { action: 'console.logout', console: true },
      schema: { summary: 'End this console session', tags, response: { 204: Type.Null(), ...errorResponses('authorization_exception', 'missing_privilege') } },
    },
    async (request, reply) => {
      if (request.principal.kind === 'operator') await app.locus.console.logout(request.principal.sessionId);
      return reply.code(204).header('set-cookie', cookie('', 0)).send(null);
    },
  );
}
