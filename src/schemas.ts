// Schemas shared by every route: the error body (docs/api.md) and the error responses routes declare;
// and the one shape check that parsers validating in code (rather than by schema) all need.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { ERROR_STATUS, type ErrorCode } from './errors.ts';

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
