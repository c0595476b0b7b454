// The request pipeline, in order: the raw body kept as bytes → authenticate (who is calling?) →
// authorize (may they? the policy table) → JSON parse → schema validation → handler. Authentication
// comes before parsing so that an unauthenticated caller learns nothing from body errors, and the
// signature's MD5 covers the exact bytes received. Also: the one error format, the request id on
// every answer, and the list of routes with their policy actions (the policy test walks it).
import type { Principal } from '../auth/principal.ts';
import type { FastifyInstance, FastifyRequest, onRequestHookHandler } from 'fastify';
import { ApiError, registerErrorHandling, setAnswerHeaders } from '../errors.ts';
import { authenticate, type AuthDependencies } from '../auth/principal.ts';
import { authorize } from '../policy/authorize.ts';
import type { RegisteredRoute } from './locus.ts';
import type { RateLimits } from './rate-limits.ts';

const EMPTY_BODY = Buffer.alloc(0);

/** A path parameter by name (this hook runs for every route, before the route's schema applies). */
function pathParameter(params: unknown, name: string): string | undefined {
  if (typeof params !== 'object' || params === null) return undefined;
  const value: unknown = Reflect.get(params, name);
  return typeof value === 'string' ? value : undefined;
}

export function registerPipeline(
  app: FastifyInstance,
  deps: {
    now: () => number;
    auth: AuthDependencies;
    routes: RegisteredRoute[];
    limits: RateLimits;
    /** Who calls a console route: the operator of the session its cookie names, or anonymous. */
    consoleOperator: (request: FastifyRequest) => Promise<Principal>;
  },
): void {
  const { routes } = deps;
  // Reference-type decorators must start as null (Fastify 5); the hooks below fill them per request.
  app.decorateRequest('principal', null as never);
  app.decorateRequest('rawBody', null);
  app.decorateRequest('targetUserId', null);

  registerErrorHandling(app, deps.now);

  // Bodies are kept as raw bytes here and parsed after authentication (see the hook below).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request: FastifyRequest, body: Buffer, done) => {
    request.rawBody = body;
    done(null, undefined);
  });
  const parseJson = app.getDefaultJsonParser('error', 'error');

  // A callback hook, not an async one: it runs on every answer, and a promise per answer is a cost.
  app.addHook('onSend', (request, reply, payload, done) => {
    // Browsers must not guess content types (a JSON body sniffed as HTML), nor keep responses that
    // carry or were read with credentials: an identity API has nothing worth caching.
    setAnswerHeaders(request, reply);
    done(null, payload);
  });

  // Shutting down: requests in flight finish; one that still arrives on a busy connection is
  // refused, not started (a stream or a long poll would hold the shutdown), and its connection
  // closes with the answer. Fastify's own 503 for this would not be in the Locus error body.
  let closing = false;
  app.addHook('preClose', (done) => {
    closing = true;
    done();
  });

  app.addHook('preValidation', async (request: FastifyRequest, reply) => {
    if (closing) {
      throw new ApiError(
        'service_unavailable',
        'The server is shutting down: send the request again',
        { reason: 'shutting_down' },
        { connection: 'close', 'retry-after': '1' },
      );
    }
    if (request.is404) return;
    const body = request.rawBody ?? EMPTY_BODY;
    const route = request.routeOptions.config;
    try {
      request.principal = route.console
        ? await deps.consoleOperator(request)
        : route.credentialsIgnored
          ? { kind: 'anonymous', applicationId: null }
          : await authenticate({ method: request.method, rawPath: request.raw.url?.split('?')[0] ?? '/', headers: request.headers, body }, deps.auth);
    } catch (error) {
      // Failed credentials count against the client's address: a flood of bad tokens or
      // signatures is refused like any other anonymous flood.
      const counted = deps.limits.check(request, reply, null, route.action);
      if (counted !== undefined) await counted;
      throw error;
    }
    const action = route.selectAction ? route.selectAction(request) : route.action;
    const counted = deps.limits.check(request, reply, request.principal, action);
    if (counted !== undefined) await counted;
    const target = route.targetUser === undefined ? undefined : pathParameter(request.params, route.targetUser);
    const decision = authorize(request.principal, action, target);
    if (!decision.allowed) throw decision.error;
    request.targetUserId = decision.targetUserId;
    if (body.length > 0) {
      request.body = await new Promise((resolve, reject) => {
        void parseJson(request, body.toString('utf8'), (error, value) => {
          if (error) reject(new ApiError('invalid_input_syntax', 'The request body is not valid JSON'));
          else resolve(value);
        });
      });
    }
  });

  app.addHook('onRoute', (route) => {
    // An event stream writes its own head (@fastify/sse), past the send hooks: its route sets what
    // every answer carries up front, and no-store takes the place of the plugin's no-cache.
    if (route.sse !== undefined) {
      const answerHeaders: onRequestHookHandler = (request, reply, done) => {
        setAnswerHeaders(request, reply);
        done();
      };
      route.onRequest = route.onRequest === undefined ? answerHeaders : [route.onRequest, answerHeaders].flat();
    }
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    // Read lazily: onRoute hooks of child contexts (the docs plugin below) run after this one.
    for (const method of methods)
      routes.push({
        method,
        url: route.url,
        get action() {
          return route.config?.action;
        },
      });
  });
}
