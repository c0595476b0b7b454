// Schemas shared by every route: the error body (docs/api.md) and the error responses routes declare;
// the one shape check that parsers validating in code (rather than by schema) all need; and the one
// reader of comma lists in requests.
import type { FastifyReply } from 'fastify';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { ERROR_STATUS, invalidEntity, type ErrorCode, type Where } from './errors.ts';
import { splitCommaList } from './platform/lists.ts';

export const ErrorBodySchema = Type.Object(
  {
    errorCode: Type.String({ description: 'An error code (docs/api.md)' }),
    message: Type.String(),
    error_code: Type.String({ description: 'Mirrors errorCode (the documented mitter.io shape)' }),
    diagnostics: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    timestamp: Type.Integer({ description: 'Epoch milliseconds' }),
  },
  { $id: 'ErrorBody', title: 'ErrorBody' },
);

const ERROR_REF = Type.Ref('ErrorBody');

/** Error responses a route can produce, keyed by status; 400, 401 and 500 apply to every route. */
export function errorResponses(...codes: ErrorCode[]): Record<number, typeof ERROR_REF> {
  const statuses = new Set<number>([400, 401, 500, ...codes.map((code) => ERROR_STATUS[code])]);
  return Object.fromEntries([...statuses].sort().map((status) => [status, ERROR_REF]));
}

/** OpenAPI security of routes callable with an application signature or a user token. */
export const SIGNED_OR_TOKEN: Array<Record<string, string[]>> = [{ accessKeySignature: [] }, { userToken: [] }];

/** A JSON object (not null, not an array): what parsers that validate in code check first. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The instance route plugins receive: params, query and body typed by the route's TypeBox schemas. */
export type RouteApp = Parameters<FastifyPluginAsyncTypebox>[0];

/**
 * Answers with a JSON document written ahead (src/wire: cached users and profiles, each written
 * once). Fastify sends a string under a JSON content type as it is, past the route's serializer;
 * the route's response schema still documents it, and a test holds the two documents together.
 *
 * Return what it returns from the handler. Once the answer has gone (the send hooks ran at once)
 * that is nothing: a handler's promise resolved with the reply makes the engine look up the
 * reply's `then` (a Fastify reply is thenable) and run one more job, about a microsecond per read
 * (docs/benchmarks.md). While a hook still holds the answer it is the reply, which Fastify then
 * waits for.
 */
export function sendWritten(reply: FastifyReply, json: string): FastifyReply | undefined {
  reply.type('application/json; charset=utf-8').send(json);
  return reply.sent ? undefined : reply;
}

export interface CommaListRules<T> {
  /** The list's field and location: a count error names it, an entry error names `field[i]`. */
  where: Where;
  /** At most this many entries (`maxItems`); no bound when absent. */
  max?: number;
  maxMessage?: string;
  /** At least this many (`minItems`). */
  min?: number;
  minMessage?: string;
  /** Drop empty entries (`a,,b`) instead of handing them to `entry` to refuse. */
  dropEmpty?: boolean;
  /** Drop repeated entries before counting and checking (positions are then those of the kept ones). */
  distinct?: boolean;
  /** Parses one entry, throwing a 4xx that names `where` (given as `field[i]`). */
  entry?: (value: string, where: Where) => T;
}

/** A comma list from a request (one string, or a repeated query parameter), counted and checked entry by entry. */
export function parseCommaList<T = string>(input: string | readonly string[] | undefined, rules: CommaListRules<T>): T[] {
  let entries = input === undefined ? [] : splitCommaList(input, { dropEmpty: rules.dropEmpty ?? false });
  if (rules.distinct) entries = [...new Set(entries)];
  if (rules.min !== undefined && entries.length < rules.min) throw invalidEntity(rules.where, 'minItems', rules.minMessage ?? `at least ${rules.min}`);
  if (rules.max !== undefined && entries.length > rules.max) throw invalidEntity(rules.where, 'maxItems', rules.maxMessage ?? `at most ${rules.max}`);
  const { entry } = rules;
  if (entry === undefined) return entries as T[];
  const { field, location } = rules.where;
  return entries.map((value, i) => entry(value, { field: `${field}[${i}]`, location }));
}
