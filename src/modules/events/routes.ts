// HTTP routes of events (docs/events.md): the application's log as Server-Sent Events (`.system`), and a
// user's own stream (presence and profile changes of the users it watches, and the revocation of
// the token it listens with).
//
// Framing, headers, Accept negotiation and write back-pressure come from @fastify/sse (the Fastify
// team's plugin). Keep-alive comments come from the events service's one shared timer rather than
// the plugin's per-connection interval, so that the same tick also ends streams whose token has
// expired, and tests can fire it.
import { Type } from 'typebox';
import { applicationOf, tokenIdOf } from '../../auth/principal.ts';
import { DEFAULT_SETTINGS } from '../applications/settings.ts';
import { ME, resolveUserReference } from '../../policy/authorize.ts';
import { type RouteApp, errorResponses, parseCommaList, SIGNED_OR_TOKEN } from '../../schemas.ts';
import { usersNotFound } from '../users/service.ts';
import { parseUserId } from '../users/rules.ts';
import { holdingPlace, openStream, resumePoint, SSE_ROUTE, SseResponse, started, streamApplicationEvents } from './sse.ts';
import { EVENT_TYPES } from './types.ts';
import { USER_STREAM_TYPES, UserStreamView } from './user-view.ts';

/** `presenceOf` takes at most this many user ids (docs/api.md). */
export const MAX_WATCHED_USERS = 1_000;
export async function eventRoutes(app: RouteApp): Promise<void> {
  const { events, users, tokens, social, applications } = app.locus;
  const tags = ['events'];
  const places = app.locus.streams;
  const settingsOf = async (applicationId: string) => (await applications.get(applicationId))?.settings ?? DEFAULT_SETTINGS;

  app.get(
    '/v1/events',
    {
      sse: SSE_ROUTE,
      config: { action: 'events.read' },
      schema: {
        summary: 'The application’s event log, live (Server-Sent Events)',
        description:
          'Without a resume point the stream starts with the next event. With `Last-Event-ID` (or `lastEventId`) it first sends every ' +
          'event after that id still retained, then live ones; when events after it are gone (retention) or the id is unknown, a `reset` ' +
          'message comes first and the stream continues from the oldest retained event.',
        tags,
        security: [{ accessKeySignature: [] }],
        querystring: Type.Object(
          {
            types: Type.Optional(Type.String({ description: `Comma-separated event types (${EVENT_TYPES.join(', ')}); default all` })),
            lastEventId: Type.Optional(Type.String({ maxLength: 32, description: 'Resume after this id (the Last-Event-ID header wins)' })),
          },
          { additionalProperties: true },
        ),
        // 429: more streams than the application's maxStreamsPerApp (`limit_exceeded`).
        response: { 200: SseResponse, ...errorResponses('missing_privilege', 'rate_limited') },
      },
    },
    async (request, reply) => {
      const applicationId = applicationOf(request.principal);
      await streamApplicationEvents({ events, places }, request, reply, {
        applicationId,
        maxStreams: (await settingsOf(applicationId)).maxStreamsPerApp,
        typesText: request.query.types,
        lastEventId: request.query.lastEventId,
      });
    },
  );

  app.get(
    '/v1/users/me/events',
    {
      sse: SSE_ROUTE,
      config: { action: 'events.user' },
      schema: {
        summary: 'A user’s own event stream (Server-Sent Events)',
        description:
          '`presence` and `profile.changed` events of the users in `presenceOf` (each must exist), and the `token.revoked` event of the ' +
          'token the stream was opened with, after which the stream ends; it also ends (a `closing` message) when that token expires. ' +
          'Resumes with `Last-Event-ID` like `GET /v1/events`.',
        tags,
        security: SIGNED_OR_TOKEN,
        querystring: Type.Object(
          {
            presenceOf: Type.Optional(Type.String({ description: `Comma-separated user ids to watch, at most ${MAX_WATCHED_USERS}` })),
            lastEventId: Type.Optional(Type.String({ maxLength: 32 })),
          },
          { additionalProperties: true },
        ),
        // 429: more streams than the application's maxStreamsPerUser (`limit_exceeded`).
        response: { 200: SseResponse, ...errorResponses('missing_context', 'entity_not_found', 'rate_limited') },
      },
    },
    async (request, reply) => {
      const userId = resolveUserReference(request.principal, ME);
      const applicationId = applicationOf(request.principal);
      const watched = new Set(
        parseCommaList(request.query.presenceOf, {
          where: { field: 'presenceOf', location: 'query' },
          dropEmpty: true,
          max: MAX_WATCHED_USERS,
          maxMessage: `at most ${MAX_WATCHED_USERS} user ids`,
          entry: (reference, where) => parseUserId(resolveUserReference(request.principal, reference), where),
        }),
      );
      const missing = await users.missing(applicationId, [...watched]);
      if (missing.length > 0) throw usersNotFound(missing);
      const after = resumePoint(request, request.query.lastEventId);
      const tokenId = tokenIdOf(request.principal);
      const view = await UserStreamView.open({ principal: request.principal, applicationId, userId, watched, tokenId, social });

      const release = await places.take(`user:${applicationId}:${userId}`, (await settingsOf(applicationId)).maxStreamsPerUser, 'streams for this user');
      await holdingPlace(release, async () => {
        const sink = openStream(reply);
        const subscription = await events.subscribe({
          applicationId,
          after,
          // Blocks name the blocker as the event's user, and contacts change: a resume reads every user's.
          filter: { types: USER_STREAM_TYPES, userIds: null },
          matches: (event) => view.matches(event),
          admit: (event) => view.admit(event),
          endsWith: (event) => view.endsWith(event),
          stillAllowed: async () => {
            if (tokenId !== null) return (await tokens.isActive(tokenId)) ? null : 'token_expired';
            return (await users.exists(applicationId, userId)) ? null : 'user_deleted';
          },
          sink,
        });
        started(reply, subscription.close);
        return subscription;
      });
    },
  );
}
