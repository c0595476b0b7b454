// The standard user profile attributes (docs/profiles.md): usable
// without a def, listed with the defs, and never stored as defs. Both SDKs' spellings of first
// and last name are standard.
import type { AttributeDefinition } from './types.ts';

export const STANDARD_CONTENT_TYPES = ['text/plain'];
export const STANDARD_CONTENT_ENCODINGS = ['identity', 'UTF-8'];

/** Validated and normalised like an email locator (lower-cased address). */
export const EMAIL_KEY = 'mitter.upa.Email';
/** Validated and normalised like a tele locator (E.164). */
export const MOBILE_KEY = 'mitter.upa.Mobile';

const KEYS = [
  'mitter.upa.FirstName',
  'mitter.upa.LastName',
  'mitter.user.profile.attribute.FirstName',
  'mitter.user.profile.attribute.LastName',
  'mitter.upa.AvatarURL',
  MOBILE_KEY,
  'mitter.upa.DOB',
  'mitter.upa.Bio',
  'mitter.upa.Gender',
  EMAIL_KEY,
  'mitter.upa.Status',
  'mitter.upa.address.Street',
  'mitter.upa.address.City',
  'mitter.upa.address.State',
  'mitter.upa.address.Zip',
  'mitter.upa.address.Country',
];

/** An email or a mobile number cannot be empty: delete the attribute instead. */
const NOT_EMPTY = new Set([EMAIL_KEY, MOBILE_KEY]);

export const STANDARD_ATTRIBUTE_DEFS: readonly AttributeDefinition[] = Object.freeze(
  KEYS.map((key) =>
    Object.freeze({
      key,
      allowedContentTypes: STANDARD_CONTENT_TYPES,
      allowedContentEncodings: STANDARD_CONTENT_ENCODINGS,
      canBeEmpty: !NOT_EMPTY.has(key),
      entityType: 'users' as const,
    }),
  ),
);

const BY_KEY: ReadonlyMap<string, AttributeDefinition> = new Map(STANDARD_ATTRIBUTE_DEFS.map((def) => [def.key, def]));

export function standardDef(key: string): AttributeDefinition | undefined {
  return BY_KEY.get(key);
}
