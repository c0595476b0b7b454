// How the Fastify instance is built: body and path limits, request ids, JSON logs that never hold a
// credential or a query string, and validators that coerce text but never JSON bodies.
import { randomUUID } from 'node:crypto';
import type { FastifyHttpOptions } from 'fastify';
import type { Server } from 'node:http';
import { AjvCompiler, type ValidatorFactory } from '@fastify/ajv-compiler';
import type { Config } from '../config.ts';
import { clientErrorHandler, frameworkErrors } from '../errors.ts';

export const BODY_LIMIT_BYTES = 1024 * 1024;

/** How long a client may take (docs/decisions.md): slow and idle connections are closed. */
export interface ConnectionTimeouts {
  /** The request line and headers must arrive within this. */
  headersMs: number;
  /** The whole request (headers and body) within this. */
  requestMs: number;
  /** An idle kept-alive connection is closed after this. */
  keepAliveMs: number;
}

export const CONNECTION_TIMEOUTS: ConnectionTimeouts = { headersMs: 10_000, requestMs: 30_000, keepAliveMs: 10_000 };
/** The longest path parameter the router matches: 100 ids × 72 characters and the commas. */
export const MAX_PATH_PARAM_LENGTH = 8_192;
const REQUEST_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;

const AJV_OPTIONS = { coerceTypes: 'array', removeAdditional: false, allErrors: false } as const;
interface ValidatorRoute {
  schema: unknown;
  httpPart?: string;
}
type Validator = (route: ValidatorRoute) => unknown;
type ValidatorPool = (externalSchemas: Record<string, unknown>, options?: { customOptions?: Record<string, unknown> }) => Validator;
// The pool's published types describe an older call signature; at run time it is this.
const ajvPool = AjvCompiler() as unknown as ValidatorPool;

/**
 * Query strings, path parameters and headers are text, so their schemas coerce ("5" → 5). JSON
 * bodies are already typed: coercing them would silently rewrite values (null → "", 5 → "5"), so
 * body schemas validate without coercion.
 */
function buildValidator(externalSchemas: Record<string, unknown>, options?: { customOptions?: Record<string, unknown> }): Validator {
  const coercing = ajvPool(externalSchemas, options);
  const strict = ajvPool(externalSchemas, { ...options, customOptions: { ...options?.customOptions, coerceTypes: false } });
  return (route) => (route.httpPart === 'body' ? strict : coercing)(route);
}

/** A load balancer's X-Request-Id is kept when it is well-formed (it ends up in logs); else a fresh one. */
function requestId(request: { headers: Record<string, string | string[] | undefined> }): string {
  const incoming = request.headers['x-request-id'];
  return typeof incoming === 'string' && REQUEST_ID_PATTERN.test(incoming) ? incoming : randomUUID();
}

interface LoggedRequest {
  method: string;
  url: string;
  ip?: string;
  id?: string;
}

/** Percent-escapes decoded (repeatedly: `%256C` is `%6C` is `l`), runs of slashes collapsed, lower case. */
function normalisedPath(path: string): string {
  let decoded = path;
  for (let pass = 0; pass < 3; pass++) {
    const next = decoded.replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
    if (next === decoded) break;
    decoded = next;
  }
  return decoded.replace(/[\\/]+/g, '/').toLowerCase();
}

/**
 * The path as logs keep it. Some paths carry bearer secrets (a logout link's token, a device
 * link's code): they are recognised however they are spelled (`/v1/%6Cogout/…`, `//v1/logout/…`,
 * `/V1/Logout/…`), since the router or a proxy may still act on the odd spelling, and only the
 * route is kept. The query string is never kept (lookups carry email addresses and phone numbers).
 */
export function loggedPath(url: string): string {
  const path = url.split('?')[0] ?? '';
  const normal = normalisedPath(path);
  if (/(^|\/)logout\/./.test(normal)) return '/v1/logout/[redacted]';
  if (/(^|\/)device-links\/[^/]+\/approve/.test(normal)) return '/v1/device-links/[redacted]/approve';
  if (/(^|\/)console\/login\/./.test(normal)) return '/console/login/[redacted]';
  return path;
}

function loggerOptions(config: Config, stream?: NodeJS.WritableStream) {
  return {
    level: config.logLevel,
    ...(stream ? { stream } : {}),
    serializers: {
      // The path only: query strings carry personal data (locator lookups by email and phone).
      req: (request: LoggedRequest) => ({ method: request.method, path: loggedPath(request.url), remoteAddress: request.ip, requestId: request.id }),
    },
    // Credentials never reach the logs, whatever a serializer is later taught to include.
    redact: {
      paths: ['req.headers.authorization', 'req.headers.cookie', 'req.headers["x-issued-mitter-user-authorization"]'],
      censor: '[redacted]',
    },
  };
}

/** A hop count trusts that many proxies nearest the server; a list trusts those addresses and ranges. */
function trustProxyOption(trusted: string[] | number): string[] | ((address: string, hop: number) => boolean) {
  return typeof trusted === 'number' ? (_address, hop) => hop < trusted : trusted;
}

/** The options of the Fastify instance; `logger` replaces the JSON logs (tests turn them off). */
export function fastifyOptions(
  config: Config,
  now: () => number,
  logging: { logger?: boolean | Record<string, unknown>; logStream?: NodeJS.WritableStream },
  timeouts: ConnectionTimeouts = CONNECTION_TIMEOUTS,
): FastifyHttpOptions<Server> {
  return {
    // Node checks the header and request deadlines every connectionsCheckingInterval.
    http: {
      headersTimeout: timeouts.headersMs,
      requestTimeout: timeouts.requestMs,
      connectionsCheckingInterval: Math.min(1_000, Math.max(10, Math.floor(timeouts.headersMs / 4))),
    },
    requestTimeout: timeouts.requestMs,
    keepAliveTimeout: timeouts.keepAliveMs,
    // request.ip: the socket's address, or the X-Forwarded-For hop the trusted proxies vouch for.
    ...(config.trustedProxies === null ? {} : { trustProxy: trustProxyOption(config.trustedProxies) }),
    clientErrorHandler: clientErrorHandler(now),
    logger: logging.logger ?? loggerOptions(config, logging.logStream),
    bodyLimit: BODY_LIMIT_BYTES,
    // Comma lists in the path (100 user ids of up to 72 characters, 100 token ids) are far longer
    // than the router's default of 100 characters; the routes bound their own lists.
    routerOptions: { maxParamLength: MAX_PATH_PARAM_LENGTH },
    requestIdHeader: false,
    genReqId: requestId,
    frameworkErrors: frameworkErrors(now),
    // Requests that still arrive while the server shuts down (pipelined, or racing a keep-alive
    // connection's close) get a 503 in the Locus error body from the pipeline, not Fastify's own.
    return503OnClosing: false,
    ajv: { customOptions: AJV_OPTIONS },
    schemaController: { compilersFactory: { buildValidator: buildValidator as unknown as ValidatorFactory } },
  };
}
