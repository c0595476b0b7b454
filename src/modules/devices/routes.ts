// HTTP routes of device (QR) login (docs/social.md): start a link (no credentials), approve it (a
// logged-in user), and collect the token (the poll token is the credential) by long-poll or SSE.
import { Type } from 'typebox';
import { applicationOf } from '../../auth/principal.ts';
import { ME, resolveUserReference } from '../../policy/authorize.ts';
import { invalidEntity } from '../../errors.ts';
import { type RouteApp, errorResponses, isRecord, SIGNED_OR_TOKEN } from '../../schemas.ts';
import { clientOf, UserTokenSchema } from '../tokens/routes.ts';
import { EmptyObject, parseText } from '../users/routes.ts';
import { type Collected, DEVICE_LINK_TTL_MS, MAX_LINKS_PER_ADDRESS_PER_MINUTE, MAX_POLL_WAIT_MS } from './service.ts';

const LinkParams = Type.Object({ linkId: Type.String({ maxLength: 64 }) });
const PollQuery = Type.Object(
  {
    pollToken: Type.String({ maxLength: 128, description: 'The poll token the link was created with' }),
    wait: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_POLL_WAIT_MS / 1000, description: 'Seconds to wait for the approval (default 30)' })),
  },
  { additionalProperties: true },
);
const KEEP_ALIVE_MS = 15_000;

export async function deviceLinkRoutes(app: RouteApp): Promise<void> {
  const { devices } = app.locus;
  const tags = ['device login'];

  app.post(
    '/v1/device-links',
    {
      config: { action: 'devices.link.create' },
      schema: {
        summary: 'Start a device (QR) login link',
        description:
          `Called by the new device without credentials, with \`X-Mitter-Application-Id\`. Show \`qrSvg\` (a QR code of \`code\`) for a logged-in ` +
          `device to scan and approve; keep \`pollToken\` to collect the token. The link expires after ${DEVICE_LINK_TTL_MS / 60_000} minutes. ` +
          `At most ${MAX_LINKS_PER_ADDRESS_PER_MINUTE} links per minute per client address (429 \`rate_limited\`).`,
        tags,
        security: [],
        response: {
          200: Type.Object({
            linkId: Type.String(),
            pollToken: Type.String(),
            code: Type.String({ description: 'At least 128 bits; single use' }),
            qrSvg: Type.String({ description: 'An SVG image of a QR code that encodes `code`' }),
            expiresAt: Type.Integer({ description: 'Epoch ms' }),
          }),
          ...errorResponses('rate_limited'),
        },
      },
    },
    async (request) => devices.create(applicationOf(request.principal), clientOf(request)),
  );

  app.post(
    '/v1/device-links/:code/approve',
    {
      config: { action: 'devices.link.approve' },
      schema: {
        summary: 'Approve a device link (the user logs the new device in as itself)',
        description: 'A code is approved once; an unknown, expired or used code is a 404.',
        tags,
        security: SIGNED_OR_TOKEN,
        params: Type.Object({ code: Type.String({ maxLength: 128 }) }),
        body: Type.Unsafe<unknown>({ description: 'Optional: {"deviceName": ≤ 128 characters}' }),
        response: { 200: EmptyObject, ...errorResponses('missing_privilege', 'entity_not_found') },
      },
    },
    async (request) => {
      const body = request.body;
      let deviceName: string | null = null;
      if (body !== undefined && body !== null) {
        if (!isRecord(body)) throw invalidEntity({ field: 'body', location: 'body' }, 'type', 'a JSON object {"deviceName"?}');
        if (body.deviceName !== undefined && body.deviceName !== null) {
          deviceName = parseText(body.deviceName, { field: 'deviceName', location: 'body' }, { min: 1, max: 128 });
        }
      }
      await devices.approve(applicationOf(request.principal), resolveUserReference(request.principal, ME), request.params.code, deviceName);
      return {};
    },
  );

  app.get(
    '/v1/device-links/:linkId',
    {
      config: { action: 'devices.link.collect', credentialsIgnored: true },
      schema: {
        summary: 'Collect the token of a device link (long-poll)',
        description:
          'Waits up to `wait` seconds (default and at most 30) for the approval: `{"status": "pending"}` until then, then ' +
          '`{"status": "approved", "userToken": …}` exactly once; after that (or once it expired, or with a wrong poll token) the link is a 404.',
        tags,
        security: [],
        params: LinkParams,
        querystring: PollQuery,
        response: {
          200: Type.Object({
            status: Type.Unsafe<'pending' | 'approved'>({ type: 'string', enum: ['pending', 'approved'] }),
            userToken: Type.Optional(UserTokenSchema),
          }),
          ...errorResponses('entity_not_found'),
        },
      },
    },
    async (request, reply) => {
      reply.header('cache-control', 'no-store');
      const waitMs = (request.query.wait ?? MAX_POLL_WAIT_MS / 1000) * 1000;
      return devices.poll(request.params.linkId, request.query.pollToken, waitMs, clientOf(request));
    },
  );

  app.get(
    '/v1/device-links/:linkId/events',
    {
      sse: { kind: 'only', heartbeat: false, serializer: (data: unknown) => (typeof data === 'string' ? data : JSON.stringify(data)) },
      config: { action: 'devices.link.collect', credentialsIgnored: true },
      schema: {
        summary: 'Collect the token of a device link (Server-Sent Events)',
        description:
          'One `approved` event carrying `{"status": "approved", "userToken": …}`, then the stream ends; a `closing` message `{"reason": "expired"}` ' +
          'when the link expires first. Keep-alive comments every 15 s.',
        tags,
        security: [],
        params: LinkParams,
        querystring: PollQuery,
        response: {
          200: { description: 'text/event-stream', content: { 'text/event-stream': { schema: { type: 'string' } } } },
          ...errorResponses('entity_not_found'),
        },
      },
    },
    async (request, reply) => {
      const { linkId } = request.params;
      const { pollToken } = request.query;
      const client = clientOf(request);
      // Refusals (404) are answered before the stream opens.
      let collected: Collected | { status: 'gone' } = await devices.collect(linkId, pollToken, client);
      const expiresInMs = await devices.remainingMs(linkId);
      reply.sse.sendHeaders();
      reply.raw.flushHeaders();
      const keepAlive = setInterval(() => {
        if (reply.sse.isConnected) reply.raw.write(': keep-alive\n\n');
      }, KEEP_ALIVE_MS);
      keepAlive.unref();
      let wait: { cancel: () => void } | null = null;
      reply.sse.onClose(() => {
        clearInterval(keepAlive);
        wait?.cancel();
      });
      try {
        if (collected.status === 'pending') {
          const waiting = devices.waitForApproval(linkId, expiresInMs);
          wait = waiting;
          await waiting.done;
          if (!reply.sse.isConnected) return;
          // Another request may have collected it meanwhile (exactly once): this stream then says so.
          collected = await devices.collect(linkId, pollToken, client).catch((): { status: 'gone' } => ({ status: 'gone' }));
        }
        if (collected.status === 'approved') await reply.sse.send({ event: 'approved', data: JSON.stringify(collected) });
        else {
          const reason = (await devices.remainingMs(linkId)) === 0 ? 'expired' : 'gone';
          await reply.sse.send({ event: 'closing', data: JSON.stringify({ reason }) });
        }
      } finally {
        clearInterval(keepAlive);
        reply.sse.close();
      }
    },
  );
}
