// The user id and screen-name rules (docs/users.md), pure: each parser returns the value to store or
// throws an `invalid_entity` ApiError naming the field and the broken rule.
import { invalidEntity, type Where } from '../../errors.ts';
import { domainId } from '../../platform/ids.ts';
import { hasDeceptiveCharacters } from '../../platform/text.ts';

/** 8–72 characters; the first alphanumeric, `@` or `#`; then also `-`, `_` and `$`. */
export const USER_ID_PATTERN = /^[a-zA-Z0-9@#][-a-zA-Z0-9_@$#]{7,71}$/;
/** Principals and path words that can never be user ids (most already fail the pattern). */
export const RESERVED_USER_IDS: ReadonlySet<string> = new Set(['.system', '.anonymous', '.deleted', 'me']);
export const MAX_SCREEN_NAME_LENGTH = 256;

export function parseUserId(input: unknown, where: Where): string {
  if (typeof input !== 'string') throw invalidEntity(where, 'type', 'must be a string');
  if (RESERVED_USER_IDS.has(input)) throw invalidEntity(where, 'reserved', `"${input}" is reserved`);
  if (!USER_ID_PATTERN.test(input)) {
    throw invalidEntity(where, 'pattern', 'must be 8–72 characters: letters, digits, -, _, @, $ or #, starting with a letter, digit, @ or #');
  }
  return input;
}

export const generateUserId = domainId;

/**
 * Screen names are trimmed; what remains must be 1–256 characters (code points) with no control
 * characters and no unpaired surrogates (which no database could store faithfully).
 */
export function parseScreenName(input: unknown, where: Where): string {
  if (typeof input !== 'string') throw invalidEntity(where, 'type', 'must be a string');
  if (!input.isWellFormed()) throw invalidEntity(where, 'encoding', 'contains an unpaired surrogate');
  const value = input.trim();
  if (value.length === 0) throw invalidEntity(where, 'required', 'must not be empty');
  // Counted in code points, as PostgreSQL's varchar(256) counts them; a UTF-16 length is an upper bound.
  if (value.length > MAX_SCREEN_NAME_LENGTH && [...value].length > MAX_SCREEN_NAME_LENGTH) {
    throw invalidEntity(where, 'maxLength', `must be at most ${MAX_SCREEN_NAME_LENGTH} characters`);
  }
  if (/\p{Cc}/u.test(value)) throw invalidEntity(where, 'control_characters', 'must not contain control characters');
  if (hasDeceptiveCharacters(value))
    throw invalidEntity(where, 'deceptive_characters', 'must not contain bidirectional controls, zero-width characters or a BOM');
  return value;
}
