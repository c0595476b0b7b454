// The pure user rules: ids, screen names, locators. Examples pin the documented behaviour;
// fast-check properties show that no input escapes as anything but a 4xx ApiError, that
// normalisation is idempotent, and that every accepted phone number is E.164.
import t from 'tap';
import fc from 'fast-check';
import { getCountries, getExampleNumber, type CountryCode } from 'libphonenumber-js/max';
import examples from 'libphonenumber-js/mobile/examples';
import type { Where } from '../../src/errors.ts';
import { outcome } from '../helpers/outcome.ts';
import { generateUserId, parseScreenName, parseUserId, USER_ID_PATTERN } from '../../src/modules/users/rules.ts';
import {
  normaliseEmail,
  normalisePhoneNumber,
  parseLocatorInput,
  parseLocatorString,
  LOCATOR_MEMO_SIZE,
  rememberedSpellings,
} from '../../src/modules/users/locators.ts';

const where: Where = { field: 'f', location: 'body' };
const E164 = /^\+[1-9][0-9]{1,14}$/;

function rejection(fn: () => unknown): Record<string, unknown> | undefined {
  const result = outcome(fn);
  return result.ok ? undefined : { code: result.error.code, ...result.error.diagnostics };
}

// Any UTF-16 code unit, lone surrogates included: what a JSON body can carry.
const anyCodeUnits = fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((code) => String.fromCharCode(code)), maxLength: 90 });
const idCharacters = fc.string({ unit: fc.constantFrom(...'aZ09-_@$#.:/ é'.split('')), maxLength: 80 });

t.test('user ids', async (t) => {
  for (const id of ['user-0001', '@amy-long', '#channel1', 'a'.repeat(72), 'sdk-user@0001', 'XwS12-aG2F5-AAL23-1Kl7D']) {
    t.equal(parseUserId(id, where), id, `${id} is accepted`);
  }
  const refused: Array<[unknown, string]> = [
    ['short', 'pattern'],
    ['a'.repeat(73), 'pattern'],
    ['-leading-dash', 'pattern'],
    ['$leading-dollar', 'pattern'],
    ['has space1', 'pattern'],
    ['user.0001', 'pattern'],
    ['.system', 'reserved'],
    ['.anonymous', 'reserved'],
    ['.deleted', 'reserved'],
    ['me', 'reserved'],
    [12345678, 'type'],
    [null, 'type'],
  ];
  for (const [id, rule] of refused) {
    t.match(
      rejection(() => parseUserId(id, where)),
      { code: 'invalid_entity', field: 'f', rule },
      `${JSON.stringify(id)} → ${rule}`,
    );
  }

  fc.assert(
    fc.property(fc.oneof(idCharacters, anyCodeUnits, fc.anything()), (input) => {
      const result = outcome(() => parseUserId(input, where));
      if (result.ok) return result.value === input && USER_ID_PATTERN.test(result.value);
      return result.error.code === 'invalid_entity';
    }),
    { numRuns: 3000 },
  );
  fc.assert(
    fc.property(fc.constant(null), () => parseUserId(generateUserId(), where).length === 23),
    { numRuns: 200 },
  );
});

t.test('screen names', async (t) => {
  t.equal(parseScreenName('  Alice  ', where), 'Alice', 'trimmed');
  t.equal(parseScreenName('😀'.repeat(256), where), '😀'.repeat(256), '256 code points (512 UTF-16 units) fit');
  t.match(
    rejection(() => parseScreenName('😀'.repeat(257), where)),
    { rule: 'maxLength' },
  );
  t.match(
    rejection(() => parseScreenName('   ', where)),
    { rule: 'required' },
  );
  t.match(
    rejection(() => parseScreenName('bell\u0007', where)),
    { rule: 'control_characters' },
  );
  t.match(
    rejection(() => parseScreenName('nul\u0000x', where)),
    { rule: 'control_characters' },
  );
  t.match(
    rejection(() => parseScreenName('half \ud800', where)),
    { rule: 'encoding' },
  );
  t.match(
    rejection(() => parseScreenName(42, where)),
    { rule: 'type' },
  );
  fc.assert(
    fc.property(fc.oneof(anyCodeUnits, fc.anything()), (input) => {
      const result = outcome(() => parseScreenName(input, where));
      return !result.ok || (parseScreenName(result.value, where) === result.value && result.value.length > 0);
    }),
    { numRuns: 2000 },
  );
});

t.test('email locators', async (t) => {
  t.same(parseLocatorString('email:  Ada.Lovelace@Example.COM ', where), {
    type: 'email',
    value: 'ada.lovelace@example.com',
    locator: 'email:ada.lovelace@example.com',
  });
  t.same(parseLocatorString('EMAIL:a+tag@b.co', where).locator, 'email:a+tag@b.co', 'prefix is case-insensitive; +tags are kept');
  for (const bad of [
    'email:',
    'email:plain',
    'email:a@localhost',
    'email:a@[127.0.0.1]',
    'email:a..b@c.com',
    'email:Ada <a@b.com>',
    `email:${'a'.repeat(250)}@b.com`,
  ]) {
    t.match(
      rejection(() => parseLocatorString(bad, where)),
      { code: 'invalid_entity', rule: 'email' },
      bad,
    );
  }
  fc.assert(
    fc.property(fc.emailAddress(), fc.constantFrom('', ' ', '\t'), fc.boolean(), (address, pad, upper) => {
      const spelled = `${pad}${upper ? address.toUpperCase() : address}${pad}`;
      const result = outcome(() => normaliseEmail(spelled, where));
      if (!result.ok) return true;
      // Every spelling of an accepted address normalises to one value, and normalising is idempotent.
      return (
        result.value.value === normaliseEmail(address.toLowerCase(), where).value && normaliseEmail(result.value.value, where).value === result.value.value
      );
    }),
    { numRuns: 1000 },
  );
});

t.test('phone locators', async (t) => {
  t.same(parseLocatorString('tele:+91 98765-43210', where), { type: 'tele', value: '+919876543210', locator: 'tele:+919876543210' });
  t.equal(parseLocatorString('tele:+1 (213) 373-4253', where).locator, 'tele:+12133734253');
  t.equal(parseLocatorString('Tele: +44 20 7946 0958 ', where).locator, 'tele:+442079460958');
  const refused: Array<[string, string]> = [
    ['tele:98765 43210', 'phone'],
    ['tele:0044 20 7946 0958', 'phone'],
    ['tele:+1 213 373 4253 ext. 12', 'phone_extension'],
    ['tele:call +12133734253 now', 'phone'],
    ['tele:+999 123', 'phone'],
    ['tele:', 'phone'],
    ['fax:+12133734253', 'locator_type'],
    ['+12133734253', 'locator_type'],
  ];
  for (const [input, rule] of refused)
    t.match(
      rejection(() => parseLocatorString(input, where)),
      { code: 'invalid_entity', rule },
      input,
    );

  // Real numbers of every region, written with arbitrary separators, normalise to one E.164 value.
  const numbers = getCountries()
    .map((country: CountryCode) => getExampleNumber(country, examples))
    .filter((n) => n !== undefined)
    .map((n) => n.number);
  t.ok(numbers.length > 200, `${numbers.length} example numbers`);
  const separators = fc.constantFrom(' ', '-', '.', '');
  fc.assert(
    fc.property(fc.constantFrom(...numbers), fc.array(separators, { minLength: 16, maxLength: 16 }), (number, seps) => {
      const digits = number.slice(1).split('');
      const spelled = `tele:+${digits.map((d, i) => d + (seps[i] ?? '')).join('')}`;
      const parsed = parseLocatorString(spelled, where);
      return parsed.value === number && E164.test(parsed.value) && parseLocatorString(parsed.locator, where).locator === parsed.locator;
    }),
    { numRuns: 2000 },
  );
  // Arbitrary text after the prefix: accepted only as E.164, and idempotently.
  fc.assert(
    fc.property(fc.oneof(fc.stringMatching(/^\+?[0-9 ()\-.]{0,20}$/), anyCodeUnits), (text) => {
      const result = outcome(() => parseLocatorString(`tele:${text}`, where));
      return !result.ok || (E164.test(result.value.value) && parseLocatorString(result.value.locator, where).locator === result.value.locator);
    }),
    { numRuns: 3000 },
  );
});

t.test('accepted spellings are remembered, within a bound', async (t) => {
  const first = normalisePhoneNumber('+1 213 373 4253', where);
  t.equal(normalisePhoneNumber('+1 213 373 4253', where), first, 'a repeated spelling answers from memory');
  t.ok(Object.isFrozen(first), 'shared answers cannot be changed by a caller');
  t.throws(() => normalisePhoneNumber('+1 213 373 4253 ext. 1', where), { code: 'invalid_entity' });
  for (let i = 0; i < LOCATOR_MEMO_SIZE + 50; i += 1) {
    normalisePhoneNumber(`+1 ${i < 10_000 ? '213' : '310'} 373 ${String(i % 10_000).padStart(4, '0')}`, where);
  }
  t.ok(rememberedSpellings().tele <= LOCATOR_MEMO_SIZE, `bounded: ${rememberedSpellings().tele} remembered`);
  t.equal(normalisePhoneNumber('+1 213 373 4253', where).locator, 'tele:+12133734253', 'an evicted spelling is parsed again, to the same value');

  const email = normaliseEmail(' Ada@Example.COM', where);
  t.equal(normaliseEmail(' Ada@Example.COM', where), email, 'an email address too');
  t.same(email, { type: 'email', value: 'ada@example.com', locator: 'email:ada@example.com' });
  t.ok(Object.isFrozen(email));
  const rejected = rememberedSpellings().email;
  t.throws(() => normaliseEmail('not an address', where), { code: 'invalid_entity' });
  t.throws(() => normaliseEmail('not an address', where), { code: 'invalid_entity' }, 'a rejection is refused again');
  t.equal(rememberedSpellings().email, rejected, 'and not remembered');
  for (let i = 0; i < LOCATOR_MEMO_SIZE + 50; i += 1) normaliseEmail(`u${i}@example.com`, where);
  t.equal(rememberedSpellings().email, LOCATOR_MEMO_SIZE, 'bounded');
});

t.test('locator inputs: strings and entities', async (t) => {
  t.same(
    parseLocatorInput({ '@type': 'tele', phoneNumber: '+91 98765 43210', verificationStatus: 2, locatorSerializationPrefix: 'tele' }, where),
    {
      locator: { type: 'tele', value: '+919876543210', locator: 'tele:+919876543210' },
      verificationStatus: 'StatusNotProvided',
    },
    'the JS SDK shape, numeric status',
  );
  t.equal(parseLocatorInput({ locator: 'email:A@B.com', verificationStatus: 'Verified' }, where).verificationStatus, 'Verified');
  t.equal(
    parseLocatorInput({ email: 'a@b.com', verificationStatus: 'VerificationApplicable' }, where).verificationStatus,
    'VerificationNotApplicable',
    "the JS enum's name for the last status",
  );
  t.equal(parseLocatorInput({ '@type': 'email', locator: 'email:a@b.com', email: 'A@B.COM' }, where).locator.locator, 'email:a@b.com', 'agreeing fields');
  t.match(
    rejection(() => parseLocatorInput({ '@type': 'email', locator: 'email:a@b.com', email: 'c@d.com' }, where)),
    { rule: 'mismatch' },
  );
  t.match(
    rejection(() => parseLocatorInput({ '@type': 'tele', locator: 'email:a@b.com' }, where)),
    { rule: 'mismatch' },
  );
  t.match(
    rejection(() => parseLocatorInput({ '@type': 'fax', locator: 'email:a@b.com' }, where)),
    { field: 'f.@type', rule: 'locator_type' },
  );
  t.match(
    rejection(() => parseLocatorInput({ verificationStatus: 'Verified' }, where)),
    { rule: 'required' },
  );
  t.match(
    rejection(() => parseLocatorInput({ email: 'a@b.com', verificationStatus: 9 }, where)),
    { field: 'f.verificationStatus', rule: 'verification_status' },
  );
  t.match(
    rejection(() => parseLocatorInput(['email:a@b.com'], where)),
    { rule: 'type' },
  );

  const entity = fc.record(
    {
      '@type': fc.oneof(fc.constantFrom('email', 'tele', 'EMAIL', 'x'), fc.anything()),
      locator: fc.oneof(fc.constantFrom('email:a@b.com', 'tele:+12133734253', 'nonsense'), fc.anything()),
      email: fc.oneof(fc.emailAddress(), fc.anything()),
      phoneNumber: fc.oneof(fc.constantFrom('+1 213 373 4253', '+91 98765 43210'), fc.anything()),
      verificationStatus: fc.oneof(fc.integer({ min: -1, max: 6 }), fc.constantFrom('Verified', 'Nope'), fc.anything()),
    },
    { requiredKeys: [] },
  );
  fc.assert(
    fc.property(fc.oneof(entity, fc.anything(), anyCodeUnits), (input) => {
      const result = outcome(() => parseLocatorInput(input, where));
      if (!result.ok) return result.error.code === 'invalid_entity';
      const again = parseLocatorInput(result.value.locator.locator, where);
      return again.locator.locator === result.value.locator.locator;
    }),
    { numRuns: 3000 },
  );
});
