// Profile rules (docs/profiles.md), pure: attribute defs as given by .system, and attribute values checked
// against their def. A malformed request is `invalid_entity` (field + rule); a well-formed value
// that its def does not allow is `invalid_domain_attribute` (key + field + rule).
import validator from 'validator';
import { ApiError, invalidEntity, type Where } from '../../errors.ts';
import { isRecord, parseCommaList } from '../../schemas.ts';
import type { AttributeDefinition, StoredAttribute } from './types.ts';
import { normaliseEmail, normalisePhoneNumber } from '../users/locators.ts';
import { EMAIL_KEY, MOBILE_KEY } from './standard.ts';

export const ATTRIBUTE_KEY_PATTERN = /^[A-Za-z0-9._-]{1,128}$/;
/** A value is at most 64 KiB of UTF-8. */
export const MAX_VALUE_BYTES = 64 * 1024;
/** One patch carries at most this many attributes (docs/profiles.md). */
export const MAX_PATCH_ATTRIBUTES = 100;
/** A def lists at most this many content types, and as many encodings. */
export const MAX_DEF_LIST_ENTRIES = 32;
/** A MIME type without parameters: RFC 6838 restricted names. */
const MIME_TYPE = /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,62}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,62}$/;
const ENCODING = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** What the Attribute's defaults are when a field is absent (as the JS SDK's builders send). */
export const DEFAULT_CONTENT_TYPE = 'text/plain';
export const DEFAULT_CONTENT_ENCODING = 'identity';

function refused(key: string, where: Where, rule: string, message: string, extra: Record<string, unknown> = {}): ApiError {
  return new ApiError('invalid_domain_attribute', `${where.field} (${key}): ${message}`, { key, field: where.field, rule, ...extra });
}

export function parseAttributeKey(input: unknown, where: Where): string {
  if (typeof input !== 'string') throw invalidEntity(where, 'type', 'must be a string');
  if (!ATTRIBUTE_KEY_PATTERN.test(input)) throw invalidEntity(where, 'pattern', 'must be 1–128 characters: letters, digits, ., _ or -');
  return input;
}

/** A comma list of keys in a path: each once, in the order given, at most 100. */
export function parseKeyList(input: string, where: Where): string[] {
  return [
    ...new Set(parseCommaList(input, { where, max: MAX_PATCH_ATTRIBUTES, maxMessage: `at most ${MAX_PATCH_ATTRIBUTES} keys`, entry: parseAttributeKey })),
  ];
}

function parseVocabulary(input: unknown, pattern: RegExp, what: string, where: Where): string[] {
  if (!Array.isArray(input)) throw invalidEntity(where, 'type', 'must be an array of strings');
  if (input.length === 0) throw invalidEntity(where, 'minItems', `must list at least one ${what}`);
  if (input.length > MAX_DEF_LIST_ENTRIES) throw invalidEntity(where, 'maxItems', `must list at most ${MAX_DEF_LIST_ENTRIES}`);
  const seen = new Set<string>();
  const out: string[] = [];
  input.forEach((entry, i) => {
    const at = { ...where, field: `${where.field}[${i}]` };
    if (typeof entry !== 'string') throw invalidEntity(at, 'type', 'must be a string');
    if (!pattern.test(entry)) throw invalidEntity(at, 'pattern', `is not a ${what}`);
    // MIME types and encoding names are case-insensitive: one entry per name, as first spelled.
    if (!seen.has(entry.toLowerCase())) out.push(entry);
    seen.add(entry.toLowerCase());
  });
  return out;
}

/** An AttributeDef request body; `canBeEmpty` defaults to true, `entityType` to users. */
export function parseAttributeDef(input: unknown): AttributeDefinition {
  const body = (field: string): Where => ({ field, location: 'body' });
  if (!isRecord(input)) throw invalidEntity(body('body'), 'type', 'must be an AttributeDef object');
  const key = parseAttributeKey(input.key, body('key'));
  const allowedContentTypes = parseVocabulary(input.allowedContentTypes, MIME_TYPE, 'MIME type (type/subtype)', body('allowedContentTypes'));
  const allowedContentEncodings = parseVocabulary(input.allowedContentEncodings, ENCODING, 'content encoding name', body('allowedContentEncodings'));
  if (input.canBeEmpty !== undefined && typeof input.canBeEmpty !== 'boolean') throw invalidEntity(body('canBeEmpty'), 'type', 'must be a boolean');
  if (input.entityType !== undefined && input.entityType !== 'users') {
    throw invalidEntity(body('entityType'), 'entity_type', 'must be "users" on this route');
  }
  return { key, allowedContentTypes, allowedContentEncodings, canBeEmpty: input.canBeEmpty ?? true, entityType: 'users' };
}

export interface AttributeInput {
  key: string;
  contentType: string;
  contentEncoding: string;
  value: string;
}

function optionalText(input: unknown, fallback: string, where: Where): string {
  if (input === undefined) return fallback;
  if (typeof input !== 'string') throw invalidEntity(where, 'type', 'must be a string');
  return input;
}

/**
 * The shape of an Attribute: a key (or the path's), content type and encoding (defaulting to
 * text/plain and identity), and a string value. Whether its def allows it is `checkAttribute`'s.
 */
export function parseAttributeInput(input: unknown, where: Where, pathKey?: string): AttributeInput {
  if (!isRecord(input)) throw invalidEntity(where, 'type', 'must be an Attribute object');
  const at = (field: string): Where => ({ ...where, field: where.field === 'body' ? field : `${where.field}.${field}` });
  const key = input.key === undefined && pathKey !== undefined ? pathKey : parseAttributeKey(input.key, at('key'));
  if (pathKey !== undefined && key !== pathKey) throw invalidEntity(at('key'), 'key_mismatch', `must equal the key in the path ("${pathKey}")`);
  const contentType = optionalText(input.contentType, DEFAULT_CONTENT_TYPE, at('contentType'));
  const contentEncoding = optionalText(input.contentEncoding, DEFAULT_CONTENT_ENCODING, at('contentEncoding'));
  if (typeof input.value !== 'string') throw invalidEntity(at('value'), input.value === undefined ? 'required' : 'type', 'must be a string');
  return { key, contentType, contentEncoding, value: input.value };
}

function allowed(list: readonly string[], value: string): string | undefined {
  const lower = value.toLowerCase();
  return list.find((entry) => entry.toLowerCase() === lower);
}

function isJsonType(contentType: string): boolean {
  const lower = contentType.toLowerCase();
  return lower === 'application/json' || lower.endsWith('+json');
}

/** Standard keys whose values are normalised like locators; a failure names the locator rule. */
function normaliseStandardValue(key: string, value: string, where: Where): string {
  const normalise = key === EMAIL_KEY ? normaliseEmail : key === MOBILE_KEY ? normalisePhoneNumber : null;
  if (normalise === null) return value;
  try {
    return normalise(value, where).value;
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    const rule = typeof error.diagnostics?.rule === 'string' ? error.diagnostics.rule : 'format';
    throw refused(key, where, rule, key === EMAIL_KEY ? 'is not a valid email address' : 'is not a valid phone number in international form (+country code)');
  }
}

/**
 * The value to store, or `invalid_domain_attribute` naming the key and the rule: the key needs a
 * def (`def` undefined: none), the content type and encoding must be in the def's lists (matched
 * case-insensitively, stored in the def's spelling), the value non-empty unless the def allows it,
 * at most 64 KiB, valid base64 when so encoded, valid JSON when a JSON type. Standard email and
 * mobile values are normalised like locators.
 */
export function checkAttribute(input: AttributeInput, def: AttributeDefinition | undefined, where: Where): StoredAttribute {
  const { key, value } = input;
  if (def === undefined) throw refused(key, where, 'undefined_key', 'no attribute def exists for this key (define it first, or use a standard key)');
  const contentType = allowed(def.allowedContentTypes, input.contentType);
  if (contentType === undefined) {
    throw refused(key, where, 'content_type', `content type "${input.contentType}" is not allowed`, { allowed: def.allowedContentTypes });
  }
  const contentEncoding = allowed(def.allowedContentEncodings, input.contentEncoding);
  if (contentEncoding === undefined) {
    throw refused(key, where, 'content_encoding', `content encoding "${input.contentEncoding}" is not allowed`, { allowed: def.allowedContentEncodings });
  }
  // Unpaired surrogates cannot be stored faithfully, and PostgreSQL text cannot hold U+0000.
  if (!value.isWellFormed() || value.includes('\u0000')) throw refused(key, where, 'encoding', 'contains an unpaired surrogate or U+0000');
  if (value.length > MAX_VALUE_BYTES / 3 && Buffer.byteLength(value, 'utf8') > MAX_VALUE_BYTES) {
    throw refused(key, where, 'max_size', `is larger than ${MAX_VALUE_BYTES} bytes`, { limit: MAX_VALUE_BYTES });
  }
  if (value === '') {
    if (!def.canBeEmpty) throw refused(key, where, 'empty', 'must not be empty');
    return { key, contentType, contentEncoding, value };
  }
  if (contentEncoding.toLowerCase() === 'base64') {
    if (!validator.isBase64(value)) throw refused(key, where, 'base64', 'is not valid base64');
  } else if (isJsonType(contentType)) {
    try {
      JSON.parse(value);
    } catch {
      throw refused(key, where, 'json', `is not valid JSON (content type ${contentType})`);
    }
  }
  return { key, contentType, contentEncoding, value: normaliseStandardValue(key, value, where) };
}
