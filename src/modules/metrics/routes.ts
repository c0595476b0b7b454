// `GET /metrics` (docs/operations.md): Prometheus text, optionally behind a bearer token
// (LOCUS_METRICS_TOKEN). Never rate-limited and never logged per scrape; request counts and
// durations are taken for every answered request, by route template.
import { Type } from 'typebox';
import { ApiError, isDependencyDown } from '../../errors.ts';
import { constantTimeEqual } from '../../platform/crypto.ts';
import { type RouteApp, errorResponses } from '../../schemas.ts';

const NO_ROUTE = '(unmatched)';

export async function metricsRoutes(app: RouteApp): Promise<void> {
  const { metrics, config } = app.locus;

  app.get(
    '/metrics',
    {
      // The bearer token is this route's own credential: a user-token check must not read it.
      config: { action: 'metrics.read', credentialsIgnored: true },
      logLevel: 'silent',
      schema: {
        summary: 'Prometheus metrics (text exposition format)',
        description: 'With `LOCUS_METRICS_TOKEN` set, send it as `Authorization: Bearer <token>`.',
        tags: ['operations'],
        produces: ['text/plain'],
        response: { 200: Type.String({ description: 'Prometheus text format 0.0.4' }), ...errorResponses('authorization_exception') },
      },
    },
    async (request, reply) => {
      if (config.metricsToken !== null) {
        const presented = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1] ?? '';
        if (!constantTimeEqual(presented, config.metricsToken)) {
          throw new ApiError('authorization_exception', 'The metrics need their bearer token (LOCUS_METRICS_TOKEN)', undefined, {
            'www-authenticate': 'Bearer realm="metrics"',
          });
        }
      }
      reply.type(metrics.contentType);
      return metrics.scrape();
    },
  );
}

/** Counts and times every answered request, and the failures of the database and Redis. */
export function registerRequestMetrics(app: RouteApp): void {
  const { metrics } = app.locus;
  app.addHook('onResponse', (request, reply, done) => {
    metrics.request(request.method, request.routeOptions.url ?? NO_ROUTE, reply.statusCode, reply.elapsedTime / 1000);
    done();
  });
  app.addHook('onError', (_request, _reply, error, done) => {
    // A raw driver error, or a 503 a route raised itself naming the dependency (readiness).
    const named = error instanceof ApiError && error.code === 'service_unavailable' ? error.diagnostics?.dependency : null;
    const down = named === 'database' || named === 'redis' ? named : isDependencyDown(error);
    if (down !== null) metrics.dependencyError(down, 'request');
    done();
  });
}
