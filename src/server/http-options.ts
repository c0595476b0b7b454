// How the Fastify instance is built: body and path limits, request ids, JSON logs that never hold a
// credential or a query string, and validators that coerce text but never JSON bodies.
import { randomUUID } from 'node:crypto';
import type { FastifyServerOptions } from 'fastify';
import { AjvCompiler, type ValidatorFactory } from '@fastify/ajv-compiler';
import type { Config } from '../config.ts';
import { frameworkErrors } from '../errors.ts';

export const BODY_LIMIT_BYTES = 1024 * 1024;
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

/** A logout link's path is a bearer secret: logs keep only its route. */
function loggedPath(url: string): string {
  const path = url.split('?')[0] ?? '';
  return path.startsWith('/v1/logout/') ? '/v1/logout/[redacted]' : path;
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

/** The options of the Fastify instance; `logger` replaces the JSON logs (tests turn them off). */
export function fastifyOptions(
  config: Config,
  now: () => number,
  logging: { logger?: boolean | Record<string, unknown>; logStream?: NodeJS.WritableStream },
): FastifyServerOptions {
  return {
    logger: logging.logger ?? loggerOptions(config, logging.logStream),
    bodyLimit: BODY_LIMIT_BYTES,
    // Comma lists in the path (100 user ids of up to 72 characters, 100 token ids) are far longer
    // than the router's default of 100 characters; the routes bound their own lists.
    routerOptions: { maxParamLength: MAX_PATH_PARAM_LENGTH },
    requestIdHeader: false,
    genReqId: requestId,
    frameworkErrors: frameworkErrors(now),
    ajv: { customOptions: AJV_OPTIONS },
    schemaController: { compilersFactory: { buildValidator: buildValidator as unknown as ValidatorFactory } },
  };
}
