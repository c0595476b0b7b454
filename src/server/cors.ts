// CORS (docs/api.md): browser apps on the origins an application lists in `corsOrigins` may call
// Locus with header tokens, through @fastify/cors. An actual request is allowed for the origins of
// the application it names (X-Mitter-Application-Id, or the applicationId inside a user token:
// read unverified, only to pick the list; authentication still verifies it). A preflight names no
// application, so it is allowed for an origin that some application lists. Credentials (the token
// cookie) are allowed only for a listed origin; every other origin gets no CORS headers at all.
import fastifyCors from '@fastify/cors';
import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction, onRequestHookHandler } from 'fastify';
import { presentedUserToken } from '../auth/principal.ts';
import type { Clock } from '../platform/clock.ts';
import type { ApplicationsService } from '../modules/applications/service.ts';

const ALLOWED_HEADERS = ['Content-Type', 'Authorization', 'X-Issued-Mitter-User-Authorization', 'X-Mitter-Application-Id', 'X-Request-Id', 'Last-Event-ID'];
const EXPOSED_HEADERS = ['X-Request-Id', 'X-Mitter-Paginated-Estimated-Count', 'Link', 'Retry-After', 'RateLimit', 'RateLimit-Policy'];
const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];
/** How long the union of every application's origins (for preflights) is reused. */
const UNION_TTL_MS = 5_000;

/** The application a browser request names, without verifying anything. */
function namedApplication(request: FastifyRequest): string | null {
  const header = request.headers['x-mitter-application-id'];
  if (typeof header === 'string' && header.trim() !== '') return header.trim();
  const token = presentedUserToken(request.headers);
  const payload = token?.split('.')[1];
  if (!payload) return null;
  try {
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { applicationId?: unknown };
    return typeof claims.applicationId === 'string' ? claims.applicationId : null;
  } catch {
    return null;
  }
}

export async function registerCors(app: FastifyInstance, deps: { applications: ApplicationsService; clock: Clock }): Promise<void> {
  let union: { origins: Set<string>; at: number } | null = null;
  const anyApplicationAllows = async (origin: string): Promise<boolean> => {
    const now = deps.clock.now();
    if (union === null || now - union.at > UNION_TTL_MS) {
      const origins = new Set<string>();
      for (const listed of await deps.applications.list()) {
        for (const allowed of (await deps.applications.get(listed.applicationId))?.settings.corsOrigins ?? []) origins.add(allowed);
      }
      union = { origins, at: now };
    }
    return union.origins.has(origin);
  };

  const allows = async (request: FastifyRequest, origin: string): Promise<boolean> => {
    const applicationId = namedApplication(request);
    if (applicationId !== null) return (await deps.applications.get(applicationId))?.settings.corsOrigins.includes(origin) ?? false;
    return request.method === 'OPTIONS' && (await anyApplicationAllows(origin));
  };

  // @fastify/cors calls the delegator and rebuilds its options on every request, CORS or not: about
  // 5 µs, a seventh of the server CPU of the cheapest route (docs/benchmarks.md). A request without
  // `Origin` is not a CORS request, and all the plugin does for one is add `Vary: Origin`; so the
  // plugin's request hook is wrapped to do only that for them. Everything else stays the plugin's.
  const original: unknown = Reflect.get(app, 'addHook');
  const addHook = original as (this: FastifyInstance, name: string, hook: unknown) => FastifyInstance;
  let wrappedHooks = 0;
  const skipWithoutOrigin = (name: string, hook: unknown) => {
    if (name !== 'onRequest' || typeof hook !== 'function') return addHook.call(app, name, hook);
    wrappedHooks += 1;
    const handleCors = hook as onRequestHookHandler;
    return addHook.call(
      app,
      'onRequest',
      function corsUnlessNoOrigin(this: FastifyInstance, request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) {
        if (request.headers.origin !== undefined) return handleCors.call(this, request, reply, done);
        reply.header('vary', 'Origin');
        done();
      },
    );
  };
  Reflect.set(app, 'addHook', skipWithoutOrigin);
  try {
    await registerCorsPlugin(app, allows);
  } finally {
    Reflect.set(app, 'addHook', original);
  }
  // The plugin registers on this instance (it skips encapsulation) and adds exactly one request hook.
  if (wrappedHooks !== 1) throw new Error(`@fastify/cors added ${wrappedHooks} request hooks; expected 1 (src/server/cors.ts)`);
}

async function registerCorsPlugin(app: FastifyInstance, allows: (request: FastifyRequest, origin: string) => Promise<boolean>): Promise<void> {
  await app.register(fastifyCors, {
    hook: 'onRequest',
    // Preflights without the CORS request headers are answered like others (never a bare-text 400).
    strictPreflight: false,
    delegator: (request, callback) => {
      const origin = request.headers.origin;
      if (origin === undefined) {
        callback(null, { origin: false });
        return;
      }
      allows(request, origin).then(
        (allowed) =>
          callback(
            null,
            allowed
              ? { origin, credentials: true, methods: METHODS, allowedHeaders: ALLOWED_HEADERS, exposedHeaders: EXPOSED_HEADERS, maxAge: 600 }
              : { origin: false },
          ),
        (error: unknown) => callback(error instanceof Error ? error : new Error(String(error)), { origin: false }),
      );
    },
  });
}
