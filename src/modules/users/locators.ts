// Locators (docs/users.md): parsing and normalisation, pure. Every spelling of one email address or
// phone number normalises to one stored form, so lookups and the uniqueness index agree.
// Anything unacceptable is an `invalid_entity` ApiError naming the field and the broken rule.
import validator from 'validator';
import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import { invalidEntity, type Where } from '../../errors.ts';
import { isRecord } from '../../schemas.ts';
import { hasDeceptiveCharacters } from '../../platform/text.ts';

export type LocatorType = 'email' | 'tele';

export interface Locator {
  type: LocatorType;
  /** The normalised value: a lower-cased address, or an E.164 number. */
  value: string;
  /** `<type>:<value>`, the stored and wire form. */
  locator: string;
}

/** Java's and iOS's names; the JS SDK sends the same statuses as numbers, in this order. */
export const VERIFICATION_STATUSES = ['Verified', 'Unverified', 'StatusNotProvided', 'VerificationPending', 'VerificationNotApplicable'] as const;
export type VerificationStatus = (typeof VERIFICATION_STATUSES)[number];

/** Statuses that claim someone checked the locator: only callers trusted to verify may set them. */
export const ATTESTED_STATUSES: ReadonlySet<VerificationStatus> = new Set(['Verified', 'VerificationPending']);

export interface LocatorInput {
  locator: Locator;
  verificationStatus: VerificationStatus;
}

/** RFC 5321 caps an address at 254 octets; a phone number with separators is far shorter. */
export const MAX_LOCATOR_INPUT_LENGTH = 320;
const MAX_EMAIL_LENGTH = 254;

function requireText(input: unknown, where: Where): string {
  if (typeof input !== 'string') throw invalidEntity(where, 'type', 'must be a string');
  if (input.length > MAX_LOCATOR_INPUT_LENGTH) throw invalidEntity(where, 'maxLength', `must be at most ${MAX_LOCATOR_INPUT_LENGTH} characters`);
  if (!input.isWellFormed()) throw invalidEntity(where, 'encoding', 'contains an unpaired surrogate');
  if (hasDeceptiveCharacters(input))
    throw invalidEntity(where, 'deceptive_characters', 'must not contain bidirectional controls, zero-width characters or a BOM');
  return input;
}

/**
 * Accepted spellings and what they normalise to. Validating costs microseconds (an email's
 * validator) to tens of them (a phone number is parsed against the full metadata: 20–100 µs, more
 * when its large regular expressions have left the CPU caches), and the same locators are looked
 * up again and again (contact sync, logins). Bounded; least recently used spellings are dropped
 * first. Rejections are not kept: they must not crowd out real locators.
 */
class AcceptedSpellings {
  readonly #memo = new Map<string, Locator>();

  get size(): number {
    return this.#memo.size;
  }

  recall(spelling: string): Locator | undefined {
    const known = this.#memo.get(spelling);
    if (known !== undefined) {
      this.#memo.delete(spelling);
      this.#memo.set(spelling, known);
    }
    return known;
  }

  /** Remembers an accepted spelling; the answer is frozen, as callers share it. */
  remember(spelling: string, locator: Locator): Locator {
    const shared = Object.freeze(locator);
    if (this.#memo.size >= LOCATOR_MEMO_SIZE) {
      const oldest = this.#memo.keys().next();
      if (!oldest.done) this.#memo.delete(oldest.value);
    }
    this.#memo.set(spelling, shared);
    return shared;
  }
}

/** Spellings remembered per locator type. */
export const LOCATOR_MEMO_SIZE = 10_000;
const acceptedEmails = new AcceptedSpellings();
const acceptedPhoneNumbers = new AcceptedSpellings();

/** How many spellings are remembered now, per type (for tests and diagnostics). */
export function rememberedSpellings(): { email: number; tele: number } {
  return { email: acceptedEmails.size, tele: acceptedPhoneNumbers.size };
}

export function normaliseEmail(input: unknown, where: Where): Locator {
  const known = typeof input === 'string' ? acceptedEmails.recall(input) : undefined;
  if (known !== undefined) return known;
  const value = requireText(input, where).trim().toLowerCase();
  if (value.length > MAX_EMAIL_LENGTH || !validator.isEmail(value, { allow_display_name: false, allow_ip_domain: false, require_tld: true })) {
    throw invalidEntity(where, 'email', 'is not a valid email address');
  }
  return acceptedEmails.remember(input as string, { type: 'email', value, locator: `email:${value}` });
}

export function normalisePhoneNumber(input: unknown, where: Where): Locator {
  const raw = requireText(input, where).trim();
  const known = acceptedPhoneNumbers.recall(raw);
  if (known !== undefined) return known;
  if (!raw.startsWith('+')) throw invalidEntity(where, 'phone', 'must be an international number starting with + and a country code');
  // extract:false: the whole string must be the number, not merely contain one.
  const parsed = parsePhoneNumberFromString(raw, { extract: false });
  if (parsed === undefined || !parsed.isValid()) throw invalidEntity(where, 'phone', 'is not a valid phone number');
  if (parsed.ext !== undefined) throw invalidEntity(where, 'phone_extension', 'must not carry an extension');
  return acceptedPhoneNumbers.remember(raw, { type: 'tele', value: parsed.number, locator: `tele:${parsed.number}` });
}

function normalise(type: LocatorType, value: unknown, where: Where): Locator {
  return type === 'email' ? normaliseEmail(value, where) : normalisePhoneNumber(value, where);
}

function locatorType(input: unknown, where: Where): LocatorType {
  const type = typeof input === 'string' ? input.trim().toLowerCase() : input;
  if (type === 'email' || type === 'tele') return type;
  throw invalidEntity(where, 'locator_type', 'the locator type must be "email" or "tele"');
}

/** `email:<address>` or `tele:<number>`; the prefix is matched case-insensitively. */
export function parseLocatorString(input: unknown, where: Where): Locator {
  const text = requireText(input, where).trim();
  const colon = text.indexOf(':');
  if (colon < 0) throw invalidEntity(where, 'locator_type', 'must start with "email:" or "tele:"');
  return normalise(locatorType(text.slice(0, colon), where), text.slice(colon + 1), where);
}

/**
 * A locator from a query string. Form decoding reads a raw `+` as a space, and some clients put
 * locators in the query unencoded (mitter.io's iOS SDK sends `?locators=email:a@b.com,tele:+9112…`),
 * so their plus signs arrive as spaces. No locator can hold such a space: in a number, spaces
 * before its first digit stand where the `+` was (spaces further on are separators); in an email
 * address, a space inside it was a `+` (`a+tag@example.com`). Everything else reads as
 * `parseLocatorString` reads it.
 */
export function parseQueryLocator(input: string, where: Where): Locator {
  const colon = input.indexOf(':');
  if (colon < 0 || !input.includes(' ', colon)) return parseLocatorString(input, where);
  const type = input.slice(0, colon).trim().toLowerCase();
  const value = input.slice(colon + 1);
  if (type === 'tele' && /^ +\d/.test(value)) return parseLocatorString(`tele:+${value.trimStart()}`, where);
  if (type === 'email') return parseLocatorString(`email:${value.trim().replaceAll(' ', '+')}`, where);
  return parseLocatorString(input, where);
}

function parseVerificationStatus(input: unknown, where: Where): VerificationStatus {
  if (input === undefined || input === null) return 'StatusNotProvided';
  if (typeof input === 'number' && Number.isInteger(input) && input >= 0 && input < VERIFICATION_STATUSES.length) {
    return VERIFICATION_STATUSES[input] as VerificationStatus;
  }
  if (typeof input === 'string') {
    // The JS SDK's enum calls the last status `VerificationApplicable`.
    const name = input === 'VerificationApplicable' ? 'VerificationNotApplicable' : input;
    const known = VERIFICATION_STATUSES.find((status) => status === name);
    if (known) return known;
  }
  throw invalidEntity(where, 'verification_status', `must be one of ${VERIFICATION_STATUSES.join(', ')}`);
}

/**
 * A locator as clients send it: a string (`"tele:+91 98765-43210"`) or an entity with `@type` and
 * `locator` and/or `email`/`phoneNumber` (the SDKs send both). When both are given they must agree.
 */
export function parseLocatorInput(input: unknown, where: Where): LocatorInput {
  if (typeof input === 'string') return { locator: parseLocatorString(input, where), verificationStatus: 'StatusNotProvided' };
  if (!isRecord(input)) throw invalidEntity(where, 'type', 'must be a locator string or a locator object');

  const verificationStatus = parseVerificationStatus(input.verificationStatus, { ...where, field: `${where.field}.verificationStatus` });
  const fromString =
    input.locator === undefined || input.locator === null ? null : parseLocatorString(input.locator, { ...where, field: `${where.field}.locator` });
  const declared = input['@type'] === undefined || input['@type'] === null ? null : locatorType(input['@type'], { ...where, field: `${where.field}.@type` });
  const type = declared ?? fromString?.type ?? (input.email !== undefined ? 'email' : input.phoneNumber !== undefined ? 'tele' : null);
  if (type === null) throw invalidEntity(where, 'required', 'needs "locator", "email" or "phoneNumber"');

  const valueField = type === 'email' ? 'email' : 'phoneNumber';
  const rawValue = input[valueField];
  const fromValue = rawValue === undefined || rawValue === null ? null : normalise(type, rawValue, { ...where, field: `${where.field}.${valueField}` });
  const locator = fromValue ?? fromString;
  if (locator === null) throw invalidEntity(where, 'required', `needs "locator" or "${valueField}"`);
  if ((fromString !== null && fromString.locator !== locator.locator) || locator.type !== type) {
    throw invalidEntity(where, 'mismatch', '"@type", "locator" and the value field describe different locators');
  }
  return { locator, verificationStatus };
}
