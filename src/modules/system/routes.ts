// Operational routes: liveness, readiness and the OpenAPI document.
import { Type } from 'typebox';
import { ApiError } from '../../errors.ts';
import { type RouteApp, errorResponses } from '../../schemas.ts';

export async function systemRoutes(app: RouteApp): Promise<void> {
  app.get(
    '/healthz',
    {
      config: { action: 'health.read' },
      schema: {
        summary: 'Liveness: the process is up',
        tags: ['operations'],
        response: { 200: Type.Object({ status: Type.Literal('ok') }), ...errorResponses() },
      },
    },
    async () => ({ status: 'ok' as const }),
  );

  app.get(
    '/readyz',
    {
      config: { action: 'health.read' },
      schema: {
        summary: 'Readiness: the database (and Redis, when configured) answer',
        tags: ['operations'],
        response: { 200: Type.Object({ status: Type.Literal('ready') }), ...errorResponses('service_unavailable') },
      },
    },
    async (request) => {
      try {
        await app.locus.db.ping();
      } catch (error) {
        request.log.warn({ err: error }, 'readiness check: database unreachable');
        throw new ApiError('service_unavailable', 'The database is not reachable', { dependency: 'database' });
      }
      const redis = app.locus.redis;
      if (redis !== null) {
        try {
          await redis.ping();
        } catch (error) {
          request.log.warn({ err: error }, 'readiness check: Redis unreachable');
          throw new ApiError('service_unavailable', 'Shared state (Redis) is not reachable', { dependency: 'redis' });
        }
      }
      return { status: 'ready' as const };
    },
  );

  app.get(
    '/openapi.json',
    {
      config: { action: 'docs.read' },
      schema: {
        summary: 'This OpenAPI document',
        tags: ['operations'],
        response: { 200: Type.Object({}, { additionalProperties: true }), ...errorResponses() },
      },
    },
    async () => app.swagger(),
  );
}
