// Entity metadata (docs/social.md), pure: what a key and a value may be, the mitter.io typed forms,
// and the listing filter `GET /v1/users?metadata=<JSON>`.
import { invalidEntity, type Where } from '../../errors.ts';
import { isRecord } from '../../schemas.ts';

export const METADATA_KEY_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;
export const MAX_METADATA_STRING = 1_024;
/** A filter names at most this many conditions. */
export const MAX_FILTER_CONDITIONS = 10;

export type MetadataType = 'string' | 'numeric' | 'boolean';

/** A value as stored: its type and its text (the string, the number in JSON form, true/false). */
export interface MetadataValue {
  type: MetadataType;
  text: string;
}

export interface MetadataCondition {
  key: string;
  value: MetadataValue;
  operator: 'Equals' | 'Contains';
}

export function parseMetadataKey(value: unknown, where: Where): string {
  if (typeof value !== 'string' || !METADATA_KEY_PATTERN.test(value)) {
    throw invalidEntity(where, 'pattern', 'a metadata key is 1–64 characters of [A-Za-z0-9._-]');
  }
  return value;
}

function stringValue(text: unknown, where: Where): MetadataValue {
  if (typeof text !== 'string') throw invalidEntity(where, 'type', 'a string value needs a string');
  if (text.length > MAX_METADATA_STRING) throw invalidEntity(where, 'maxLength', `a string value is at most ${MAX_METADATA_STRING} characters`);
  return { type: 'string', text };
}

function numericValue(number: unknown, where: Where): MetadataValue {
  if (typeof number !== 'number' || !Number.isFinite(number)) throw invalidEntity(where, 'type', 'a numeric value is a finite number');
  // JSON's form of a number is canonical (1.0 and 1 both read "1"), so equal numbers store equal text.
  return { type: 'numeric', text: JSON.stringify(number) };
}

/**
 * A value: a string (≤ 1,024 characters), a finite number or a boolean, or the mitter.io typed
 * forms `{"@type":"string","text"}`, `{"@type":"numeric","number"}`, `{"@type":"boolean","boolean"}`.
 */
export function parseMetadataValue(value: unknown, where: Where): MetadataValue {
  if (typeof value === 'string') return stringValue(value, where);
  if (typeof value === 'number') return numericValue(value, where);
  if (typeof value === 'boolean') return { type: 'boolean', text: String(value) };
  if (isRecord(value)) {
    const type = value['@type'];
    if (type === 'string') return stringValue(value.text, { ...where, field: `${where.field}.text` });
    if (type === 'numeric') return numericValue(value.number, { ...where, field: `${where.field}.number` });
    if (type === 'boolean' && typeof value.boolean === 'boolean') return { type: 'boolean', text: String(value.boolean) };
  }
  throw invalidEntity(
    where,
    'type',
    'a string (at most 1,024 characters), a finite number, a boolean, or {"@type":"string","text"} / {"@type":"numeric","number"} / {"@type":"boolean","boolean"}',
  );
}

function parseCondition(input: unknown, where: Where, operatorAllowed: boolean): MetadataCondition {
  if (!isRecord(input)) throw invalidEntity(where, 'type', 'a condition is an object {"key", "value"}');
  const key = parseMetadataKey(input.key, { ...where, field: `${where.field}.key` });
  if (!Object.hasOwn(input, 'value')) throw invalidEntity({ ...where, field: `${where.field}.value` }, 'required', 'a condition needs a value');
  const value = parseMetadataValue(input.value, { ...where, field: `${where.field}.value` });
  let operator: MetadataCondition['operator'] = 'Equals';
  if (input.operator !== undefined && input.operator !== null) {
    if (!operatorAllowed || (input.operator !== 'Equals' && input.operator !== 'Contains')) {
      throw invalidEntity({ ...where, field: `${where.field}.operator` }, 'enum', operatorAllowed ? 'Equals or Contains' : 'array conditions all mean Equals');
    }
    operator = input.operator;
  }
  return { key, value, operator };
}

/**
 * The `metadata` listing filter: a JSON object `{"key","value","operator"?}` (Equals or Contains),
 * or a JSON array of `{"key","value"}` that must all equal. Anything else is a 400: a filter is
 * never ignored.
 */
export function parseMetadataFilter(raw: string): MetadataCondition[] {
  const where: Where = { field: 'metadata', location: 'query' };
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw invalidEntity(where, 'json', 'metadata must be a JSON object {"key","value","operator"} or an array of {"key","value"}');
  }
  if (Array.isArray(parsed)) {
    if (parsed.length === 0) throw invalidEntity(where, 'minItems', 'give at least one condition');
    if (parsed.length > MAX_FILTER_CONDITIONS) throw invalidEntity(where, 'maxItems', `at most ${MAX_FILTER_CONDITIONS} conditions`);
    return parsed.map((item, i) => parseCondition(item, { ...where, field: `metadata[${i}]` }, false));
  }
  if (isRecord(parsed)) return [parseCondition(parsed, where, true)];
  throw invalidEntity(where, 'type', 'metadata must be a JSON object {"key","value","operator"} or an array of {"key","value"}');
}

/** Whether a user's metadata meets every condition (the same test the listing's query makes). */
export function meetsConditions(entries: ReadonlyArray<{ key: string; value: MetadataValue }>, conditions: readonly MetadataCondition[]): boolean {
  return conditions.every((condition) =>
    entries.some(
      (entry) =>
        entry.key === condition.key &&
        entry.value.type === condition.value.type &&
        (condition.operator === 'Contains' && condition.value.type === 'string'
          ? entry.value.text.includes(condition.value.text)
          : entry.value.text === condition.value.text),
    ),
  );
}
