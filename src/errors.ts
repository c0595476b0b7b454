// ApiError and the one error handler: every failure leaves Locus as the one error body (docs/api.md).
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

export const ERROR_STATUS = {
  invalid_input_syntax: 400,
  invalid_entity: 400,
  invalid_parameter_set: 400,
  invalid_domain_attribute: 400,
  missing_context: 400,
  authorization_exception: 401,
  claim_rejected: 401,
  invalid_credentials: 401,
  missing_privilege: 403,
  token_issuance_refused: 403,
  ttl_extension_refused: 403,
  user_suspended: 403,
  entity_not_found: 404,
  duplicate_entity: 409,
  limit_exceeded: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  request_timeout: 408,
  too_many_attempts: 429,
  header_too_large: 431,
  rate_limited: 429,
  unknown_error: 500,
  service_unavailable: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;
export type Diagnostics = Record<string, unknown>;

/** Where a value came from, for an error's diagnostics. */
export interface Where {
  field: string;
  location: 'body' | 'query' | 'path' | 'header';
}

/** 400 `invalid_entity` naming the field, where it came from and the rule it broke. */
export function invalidEntity(where: Where, rule: string, message: string, extra: Diagnostics = {}): ApiError {
  return new ApiError('invalid_entity', `${where.field}: ${message}`, { field: where.field, location: where.location, rule, ...extra });
}

export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly diagnostics?: Diagnostics,
    readonly headers?: Record<string, string>,
    /** Where the contract gives one code two statuses (429 `limit_exceeded` for streams). */
    readonly status?: number,
  ) {
    super(message);
  }

  get statusCode(): number {
    return this.status ?? ERROR_STATUS[this.code];
  }
}

export interface ErrorBody {
  errorCode: ErrorCode;
  message: string;
  error_code: ErrorCode;
  diagnostics?: Diagnostics;
  timestamp: number;
}

export function errorBody(error: ApiError, now: number): ErrorBody {
  return {
    errorCode: error.code,
    message: error.message,
    error_code: error.code,
    ...(error.diagnostics ? { diagnostics: error.diagnostics } : {}),
    timestamp: now,
  };
}

const VALIDATION_LOCATIONS: Record<string, string> = { body: 'body', params: 'path', querystring: 'query', headers: 'header' };

interface AjvIssue {
  instancePath: string;
  keyword: string;
  message?: string;
  params: Record<string, unknown>;
}

/** Turns the first schema violation into `invalid_entity` naming the field and the broken rule. */
function validationError(error: FastifyError): ApiError {
  const issue = error.validation?.[0] as AjvIssue | undefined;
  const location = VALIDATION_LOCATIONS[error.validationContext ?? 'body'] ?? 'body';
  const segments = (issue?.instancePath ?? '').split('/').filter(Boolean);
  const missing = issue?.params.missingProperty;
  if (typeof missing === 'string') segments.push(missing);
  const extra = issue?.params.additionalProperty;
  if (typeof extra === 'string') segments.push(extra);
  const field = segments.join('.') || location;
  const rule = issue?.keyword ?? 'schema';
  // Ajv's enum message ("must be equal to one of the allowed values") does not say which they are.
  const allowed = issue?.params.allowedValues;
  const detail = rule === 'enum' && Array.isArray(allowed) ? `must be one of: ${allowed.map(String).join(', ')}` : (issue?.message ?? 'is invalid');
  return new ApiError('invalid_entity', `${location} field "${field}" ${detail}`, { field, location, rule });
}

/** Redis or the database unreachable (connection refused, closed, or retries exhausted). */
export function isDependencyDown(error: unknown): 'redis' | 'database' | null {
  if (typeof error !== 'object' || error === null) return null;
  const { name, message, code } = error as { name?: unknown; message?: unknown; code?: unknown };
  if (
    name === 'MaxRetriesPerRequestError' ||
    message === 'Connection is closed.' ||
    (typeof message === 'string' && message.startsWith("Stream isn't writeable"))
  )
    return 'redis';
  if (code === 'P1001' || code === 'P1017' || code === 'P2024') return 'database';
  const cause = (error as { cause?: { kind?: unknown; originalCode?: unknown } }).cause;
  const kind = cause?.kind ?? (error as { kind?: unknown }).kind;
  if (kind === 'DatabaseNotReachable' || kind === 'ConnectionClosed' || kind === 'SocketTimeout') return 'database';
  if (code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === '57P01') return 'database';
  // node-postgres, passed through the driver adapter as is.
  if (typeof message === 'string' && /^(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error)/.test(message))
    return 'database';
  return null;
}

/** Maps errors Fastify raises before our code runs (parsing, limits, media types) to API errors. */
function toApiError(error: FastifyError): ApiError | null {
  if (error instanceof ApiError) return error;
  const down = isDependencyDown(error);
  if (down !== null) {
    return new ApiError(
      'service_unavailable',
      down === 'redis' ? 'Shared state (Redis) is not reachable; retry shortly' : 'The database is not reachable; retry shortly',
      {
        dependency: down,
      },
      { 'retry-after': '1' },
    );
  }
  if (error.validation) return validationError(error);
  switch (error.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new ApiError('unsupported_media_type', 'Unsupported Content-Type: send application/json');
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new ApiError('payload_too_large', 'The request body exceeds the 1 MiB limit');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new ApiError('invalid_input_syntax', error.message);
    default:
      break;
  }
  const status = error.statusCode ?? 500;
  if (status === 413) return new ApiError('payload_too_large', 'The request body is too large');
  if (status === 415) return new ApiError('unsupported_media_type', 'Unsupported media type');
  if (status >= 400 && status < 500) return new ApiError('invalid_input_syntax', 'The request could not be understood');
  return null;
}

export function sendError(reply: FastifyReply, error: ApiError, now: number): FastifyReply {
  if (error.headers) reply.headers(error.headers);
  return reply.code(error.statusCode).type('application/json; charset=utf-8').send(errorBody(error, now));
}

/**
 * What every answer says (docs/api.md, "Browsers"): its request id, no content sniffing, and no
 * caching unless its route set its own Cache-Control.
 */
export function setAnswerHeaders(request: FastifyRequest, reply: FastifyReply): void {
  reply.header('x-request-id', request.id);
  reply.header('x-content-type-options', 'nosniff');
  if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
}

/**
 * Errors Fastify raises before routing (a malformed URL such as `/users/%ZZ`, a path parameter
 * over the router's limit) bypass the error handler and every send hook; this Fastify option gives
 * them the same body and headers.
 */
export function frameworkErrors(now: () => number) {
  return (error: FastifyError, request: FastifyRequest, reply: FastifyReply): void => {
    setAnswerHeaders(request, reply);
    const apiError =
      error.code === 'FST_ERR_BAD_URL'
        ? new ApiError('invalid_input_syntax', 'The request URL is not valid (bad percent-encoding)')
        : (toApiError(error) ?? new ApiError('invalid_input_syntax', 'The request could not be understood'));
    void sendError(reply, apiError, now());
  };
}

export function registerErrorHandling(app: FastifyInstance, now: () => number): void {
  app.setErrorHandler((error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    const apiError = toApiError(error);
    if (apiError) {
      // A refusal while shutting down is the plan, not a failure.
      if (apiError.statusCode >= 500 && apiError.diagnostics?.reason !== 'shutting_down') request.log.error({ err: error }, 'request failed');
      return sendError(reply, apiError, now());
    }
    // Unexpected: log everything, tell the caller nothing but the request id to quote.
    request.log.error({ err: error }, 'unhandled error');
    return sendError(reply, new ApiError('unknown_error', 'An unexpected error occurred', { requestId: request.id }), now());
  });

  app.setNotFoundHandler((request: FastifyRequest, reply: FastifyReply) =>
    sendError(
      reply,
      new ApiError('entity_not_found', `No route ${request.method} ${(request.url.split('?')[0] ?? '').slice(0, 256)}`, { entityType: 'route' }),
      now(),
    ),
  );
}

/**
 * Errors the HTTP parser raises before Fastify sees a request (headers too large, a request not
 * received in time, malformed HTTP): answered on the raw socket with the same body as every other
 * error, then the connection is closed.
 */
export function clientErrorHandler(now: () => number) {
  return (error: NodeJS.ErrnoException, socket: import('node:net').Socket): void => {
    if (error.code === 'ECONNRESET' || socket.destroyed) return;
    const apiError =
      error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? new ApiError('request_timeout', 'The request was not received in time (headers within 10 s, the whole request within 30 s)')
        : error.code === 'HPE_HEADER_OVERFLOW'
          ? new ApiError('header_too_large', 'The request headers are too large')
          : new ApiError('invalid_input_syntax', 'The request is not valid HTTP');
    const body = JSON.stringify(errorBody(apiError, now()));
    if (socket.writable) {
      socket.write(
        `HTTP/1.1 ${apiError.statusCode} ${apiError.code.replaceAll('_', ' ')}\r\nContent-Type: application/json; charset=utf-8\r\n` +
          `Content-Length: ${Buffer.byteLength(body)}\r\nX-Content-Type-Options: nosniff\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n${body}`,
      );
    }
    socket.destroy();
  };
}
