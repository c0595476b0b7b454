// HTTP routes of presence (docs/presence.md): set a user's presence, read presences and last seen for a
// comma list of users (in request order).
import { Type } from 'typebox';
import { type RouteApp, errorResponses, SIGNED_OR_TOKEN } from '../../schemas.ts';
import { applicationOf } from '../../auth/principal.ts';
import { targetUserOf } from '../../policy/authorize.ts';
import { toWiredPresence } from '../../wire/presence.ts';
import { EmptyObject, UserIdsParams, userIdsOf, UserParams } from '../users/routes.ts';
import { parsePresence } from './chain.ts';

const PresenceBody = Type.Unsafe<unknown>({
  description:
    'A Presence: {"type": 1–128 characters, "timeToLive": seconds (0 or absent = static), "expiresTo"?: Presence}, at most 16 links. ' +
    'Validated in code so that errors name the field by its path (expiresTo.expiresTo.type).',
});

export async function presenceRoutes(app: RouteApp): Promise<void> {
  const { presence, social } = app.locus;
  const tags = ['presence'];
  const security = SIGNED_OR_TOKEN;

  app.post(
    '/v1/users/:userId/presence',
    {
      config: { action: 'presence.write', targetUser: 'userId' },
      schema: {
        summary: 'Set a user’s presence (a chain: each link gives way to its expiresTo after timeToLive seconds)',
        description: '`.system` sets any user’s presence, a user only its own; `.system` has none of its own (`me` is a 400 `missing_context`).',
        tags,
        security,
        params: UserParams,
        body: PresenceBody,
        response: { 200: EmptyObject, ...errorResponses('missing_privilege', 'entity_not_found') },
      },
    },
    async (request) => {
      await presence.set(applicationOf(request.principal), targetUserOf(request), parsePresence(request.body));
      return {};
    },
  );

  app.get(
    '/v1/users/:userIds/presence',
    {
      config: { action: 'presence.read' },
      schema: {
        summary: 'Presences of users, in request order, resolved now',
        description: 'A user whose presence was never set, or whose chain ran out, reads `{"presence": null, "setTimeMs": null, "setTime": null}`.',
        tags,
        security,
        params: UserIdsParams,
        response: { 200: Type.Array(Type.Ref('WiredPresence')), ...errorResponses('missing_privilege', 'entity_not_found') },
      },
    },
    async (request) => {
      const userIds = userIdsOf(request.principal, request.params.userIds);
      const [readings, view] = await Promise.all([presence.read(applicationOf(request.principal), userIds), social.viewpoint(request.principal, userIds)]);
      // Hidden (blocked, private, suspended) reads exactly like a presence never set.
      return readings.map((reading) =>
        view.presence(reading.userId) ? toWiredPresence(reading.userId, reading.presence, reading.setTimeMs) : toWiredPresence(reading.userId, null, null),
      );
    },
  );

  app.get(
    '/v1/users/:userIds/last-seen',
    {
      config: { action: 'presence.read' },
      schema: {
        summary: 'Whether users are online now, and when they last were',
        tags,
        security,
        params: UserIdsParams,
        response: { 200: Type.Array(Type.Ref('LastSeen')), ...errorResponses('missing_privilege', 'entity_not_found') },
      },
    },
    async (request) => {
      const userIds = userIdsOf(request.principal, request.params.userIds);
      const [readings, view] = await Promise.all([presence.lastSeen(applicationOf(request.principal), userIds), social.viewpoint(request.principal, userIds)]);
      return readings.map((reading) =>
        view.lastSeen(reading.userId)
          ? { userId: { identifier: reading.userId }, online: reading.online, lastSeenMs: reading.lastSeenMs }
          : { userId: { identifier: reading.userId }, online: false, lastSeenMs: null },
      );
    },
  );
}
