// `GET /metrics` (docs/deployment.md): Prometheus text, optionally behind a bearer token
// (LOCUS_METRICS_TOKEN). Never rate-limited and never logged per scrape; request counts and
// durations are taken for every answered request, by route template.
import type { onRequestHookHandler } from 'fastify';
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

/**
 * Counts and times every answered request, and the failures of the database and Redis.
 *
 * An answer is timed from its request hook to its send hook (its status is final there), not by a
 * response hook: with any `onResponse` hook, Fastify attaches `finish` and `error` listeners to every
 * response, which cost more than everything else a cached read does (docs/data-path.md). An event
 * stream is never sent that way (it writes to the socket itself), and one its client ends never
 * finishes; so every answer of a streaming route is counted and timed when its response closes.
 */
export function registerRequestMetrics(app: RouteApp): void {
  const { metrics } = app.locus;
  app.decorateRequest('receivedAt', 0);
  app.addHook('onRequest', (request, _reply, done) => {
    request.receivedAt = performance.now();
    done();
  });
  app.addHook('onSend', (request, reply, payload, done) => {
    const route = request.routeOptions;
    if (route.config?.streams !== true) metrics.request(request.method, route.url ?? NO_ROUTE, reply.statusCode, secondsSince(request.receivedAt));
    done(null, payload);
  });
  app.addHook('onRoute', (route) => {
    if (route.sse === undefined) return;
    route.config = { ...route.config, streams: true };
    const url = route.url;
    // `close`, not `finish`: a stream the client ends never finishes.
    const timedToClose: onRequestHookHandler = (request, reply, done) => {
      reply.raw.once('close', () => metrics.request(request.method, url, reply.statusCode, secondsSince(request.receivedAt)));
      done();
    };
    route.onRequest = route.onRequest === undefined ? timedToClose : [route.onRequest, timedToClose].flat();
  });
  app.addHook('onError', (_request, _reply, error, done) => {
    // A raw driver error, or a 503 a route raised itself naming the dependency (readiness).
    const named = error instanceof ApiError && error.code === 'service_unavailable' ? error.diagnostics?.dependency : null;
    const down = named === 'database' || named === 'redis' ? named : isDependencyDown(error);
    if (down !== null) metrics.dependencyError(down, 'request');
    done();
  });
}

function secondsSince(start: number): number {
  return (performance.now() - start) / 1000;
}
