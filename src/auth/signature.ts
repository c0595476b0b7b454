// Verification of mitter.io application request signatures (docs/signing.md), as pure functions:
// no I/O, no clock, no state. The caller looks up the key, checks the nonce, and supplies `now`.
import type { KeyObject } from 'node:crypto';
import { constantTimeEqual, hmacSha1Base64, md5Base64 } from '../platform/crypto.ts';

export const DATE_WINDOW_MS = 25_000;
export const NONCE_WINDOW_MS = 35_000;
export const MAX_NONCE_LENGTH = 128;
export const EMPTY_BODY_MD5 = '1B2M2Y8AsgTpgAmY7PhCfg==';

/** The checks a signed request can fail, named in the 401's diagnostics. */
export type SignatureCheck = 'headers' | 'access_key' | 'authorization' | 'date' | 'nonce' | 'content_md5' | 'digest';

export type Headers = Record<string, string | string[] | undefined>;

export interface SignatureHeaders {
  accessKey: string;
  digest: string;
  date: string;
  nonce: string;
  /** `Content-MD5` as sent, if sent. */
  contentMd5: string | null;
  /** `Content-Type` as sent, if sent. */
  contentType: string | null;
}

export type Outcome<T> = { ok: true; value: T } | { ok: false; check: SignatureCheck; message: string };

const fail = (check: SignatureCheck, message: string): { ok: false; check: SignatureCheck; message: string } => ({
  ok: false,
  check,
  message,
});

function single(headers: Headers, name: string): string | null | undefined {
  const value = headers[name];
  if (value === undefined) return null;
  if (Array.isArray(value)) return value.length === 1 ? (value[0] ?? null) : undefined;
  return value;
}

const AUTH_SCHEME = /^auth\s+/i;

/** True when the request carries any part of an access-key signature. */
export function looksSigned(headers: Headers): boolean {
  const authorization = single(headers, 'authorization');
  return (
    headers['x-mitter-application-access-key'] !== undefined ||
    headers['x-application-access-key'] !== undefined ||
    (typeof authorization === 'string' && AUTH_SCHEME.test(authorization))
  );
}

/** Reads the signing headers (Node lower-cases header names, so every spelling arrives the same). */
export function readSignatureHeaders(headers: Headers): Outcome<SignatureHeaders> {
  const names = ['x-mitter-application-access-key', 'x-application-access-key', 'authorization', 'date', 'nonce', 'content-md5', 'content-type'];
  for (const name of names) {
    if (single(headers, name) === undefined) return fail('headers', `The ${name} header was sent more than once`);
  }
  const modernKey = single(headers, 'x-mitter-application-access-key');
  const legacyKey = single(headers, 'x-application-access-key');
  if (modernKey && legacyKey && modernKey !== legacyKey) {
    return fail('access_key', 'X-Mitter-Application-Access-Key and X-Application-Access-Key disagree');
  }
  const authorization = single(headers, 'authorization');
  if (!authorization) return fail('authorization', 'The Authorization header is missing');
  const match = /^auth\s+([^:\s]+):(\S+)$/i.exec(authorization.trim());
  if (!match) return fail('authorization', 'The Authorization header must be "Auth <accessKey>:<digest>"');
  const [, authorizationKey = '', digest = ''] = match;
  const headerKey = modernKey || legacyKey;
  if (headerKey && headerKey !== authorizationKey) {
    return fail('access_key', 'The access key header and the Authorization header name different keys');
  }
  const date = single(headers, 'date');
  if (!date) return fail('date', 'The Date header is missing');
  const nonce = single(headers, 'nonce');
  if (!nonce) return fail('nonce', 'The Nonce header is missing');
  if (nonce.length > MAX_NONCE_LENGTH) return fail('nonce', `The Nonce header is longer than ${MAX_NONCE_LENGTH} characters`);
  return {
    ok: true,
    value: {
      accessKey: authorizationKey,
      digest,
      date,
      nonce,
      contentMd5: single(headers, 'content-md5') || null,
      contentType: single(headers, 'content-type') ?? null,
    },
  };
}

// Zone abbreviations JavaScript's Date does not know but mitter.io's Java SDK may send (it formats
// the Date header in the JVM's default zone). IST is read as India Standard Time.
const EXTRA_ZONES: Record<string, string> = { IST: '+0530', CET: '+0100', CEST: '+0200', BST: '+0100' };

// Clients sign with the current second, so consecutive requests mostly carry the same Date header:
// the last one parsed is remembered (parsing is pure; a miss costs one comparison).
let lastDateHeader: string | null = null;
let lastDateParsed: number | null = null;

export function parseHttpDate(value: string): number | null {
  if (value !== lastDateHeader) {
    lastDateParsed = parseDate(value);
    lastDateHeader = value;
  }
  return lastDateParsed;
}

function parseDate(value: string): number | null {
  const direct = Date.parse(value);
  if (!Number.isNaN(direct)) return direct;
  const zone = /\s([A-Z]{2,5})$/.exec(value.trim());
  const offset = zone?.[1] ? EXTRA_ZONES[zone[1]] : undefined;
  if (!offset || !zone) return null;
  const rewritten = Date.parse(`${value.trim().slice(0, -zone[1]!.length)}${offset}`);
  return Number.isNaN(rewritten) ? null : rewritten;
}

/** The Date header must lie within ±25 s of server time. Returns the parsed time. */
export function checkDate(date: string, now: number): Outcome<number> {
  const sent = parseHttpDate(date);
  if (sent === null) return fail('date', 'The Date header is not an HTTP date');
  if (Math.abs(sent - now) > DATE_WINDOW_MS) {
    return fail('date', `The Date header is more than ${DATE_WINDOW_MS / 1000} s away from server time`);
  }
  return { ok: true, value: sent };
}

/**
 * How long a nonce must be remembered: at least 35 s, and until its Date leaves the acceptance
 * window, so that a request dated ahead of the server cannot be replayed once the nonce is forgotten.
 */
export function nonceRetentionMs(sentAt: number, now: number): number {
  return Math.max(NONCE_WINDOW_MS, sentAt + DATE_WINDOW_MS - now + 1_000);
}

export function stringToSign(parts: { method: string; contentType: string | null; contentMd5: string; date: string; path: string; nonce: string }): string {
  return [parts.method.toUpperCase(), parts.contentType ?? 'null', parts.contentMd5, parts.date, parts.path, parts.nonce].join('\n');
}

export function signatureDigest(secret: Buffer | KeyObject, message: string): string {
  return hmacSha1Base64(secret, message);
}

function percentDecoded(path: string): string | null {
  if (!path.includes('%')) return null;
  try {
    const decoded = decodeURIComponent(path);
    return decoded === path ? null : decoded;
  } catch {
    return null;
  }
}

export interface SignedRequest {
  method: string;
  /** The request path as received, without the query string and without decoding. */
  rawPath: string;
  body: Buffer;
  headers: SignatureHeaders;
}

/**
 * Checks the body digest and the HMAC: MD5 over the raw body bytes must match Content-MD5 when
 * sent; the digest is checked against the raw path, then once against the percent-decoded path.
 */
export function verifyDigest(request: SignedRequest, secret: Buffer | KeyObject): Outcome<{ path: string }> {
  const bodyMd5 = request.body.length === 0 ? EMPTY_BODY_MD5 : md5Base64(request.body);
  const { headers } = request;
  if (headers.contentMd5 !== null && !constantTimeEqual(headers.contentMd5, bodyMd5)) {
    return fail('content_md5', 'Content-MD5 does not match the MD5 of the request body');
  }
  const candidates = [request.rawPath];
  const decoded = percentDecoded(request.rawPath);
  if (decoded !== null) candidates.push(decoded);
  let matched: string | null = null;
  // Both candidates are always compared, so timing does not reveal which one matched.
  for (const path of candidates) {
    const expected = signatureDigest(
      secret,
      stringToSign({ method: request.method, contentType: headers.contentType, contentMd5: bodyMd5, date: headers.date, path, nonce: headers.nonce }),
    );
    if (constantTimeEqual(headers.digest, expected) && matched === null) matched = path;
  }
  if (matched === null) return fail('digest', 'The signature digest does not match the request');
  return { ok: true, value: { path: matched } };
}

export interface SigningInput {
  method: string;
  /** Path without query string, exactly as it will be sent. */
  path: string;
  body?: Buffer | string;
  contentType?: string | null;
  accessKey: string;
  /** The access secret as issued (base64), or its HMAC key prepared once (hmacSha1Key) by a client that signs many requests. */
  accessSecret: string | KeyObject;
  date: string;
  nonce: string;
}

/** The headers a mitter.io client sends on a signed request (the client side of verifyDigest). */
export function signRequestHeaders(input: SigningInput): Record<string, string> {
  const body = typeof input.body === 'string' ? Buffer.from(input.body, 'utf8') : (input.body ?? Buffer.alloc(0));
  const contentMd5 = body.length === 0 ? EMPTY_BODY_MD5 : md5Base64(body);
  const contentType = input.contentType ?? null;
  const digest = signatureDigest(
    typeof input.accessSecret === 'string' ? Buffer.from(input.accessSecret, 'base64') : input.accessSecret,
    stringToSign({ method: input.method, contentType, contentMd5, date: input.date, path: input.path, nonce: input.nonce }),
  );
  return {
    'x-mitter-application-access-key': input.accessKey,
    authorization: `Auth ${input.accessKey}:${digest}`,
    date: input.date,
    nonce: input.nonce,
    'content-md5': contentMd5,
    ...(contentType !== null ? { 'content-type': contentType } : {}),
  };
}
