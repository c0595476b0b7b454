// The pure profile rules: defs and attribute values. Examples pin the behaviour; fast-check
// properties show that no input escapes as anything but a 4xx ApiError, that whatever is accepted
// fits its def, and that checking a stored value again gives the same value.
import t from 'tap';
import fc from 'fast-check';
import type { Where } from '../../src/errors.ts';
import { outcome } from '../helpers/outcome.ts';
import type { AttributeDefinition } from '../../src/modules/profiles/types.ts';
import { checkAttribute, MAX_VALUE_BYTES, parseAttributeDef, parseAttributeInput, parseKeyList } from '../../src/modules/profiles/rules.ts';
import { standardDef, STANDARD_ATTRIBUTE_DEFS } from '../../src/modules/profiles/standard.ts';

const where: Where = { field: 'attributes[0]', location: 'body' };

const def = (overrides: Partial<AttributeDefinition> = {}): AttributeDefinition => ({
  key: 'app.k',
  allowedContentTypes: ['text/plain', 'application/json'],
  allowedContentEncodings: ['identity', 'base64'],
  canBeEmpty: true,
  entityType: 'users',
  ...overrides,
});

t.test('standard defs', async (t) => {
  t.equal(STANDARD_ATTRIBUTE_DEFS.length, 16);
  t.equal(standardDef('mitter.upa.FirstName')?.canBeEmpty, true);
  t.equal(standardDef('mitter.upa.Email')?.canBeEmpty, false, 'an email cannot be empty');
  t.equal(standardDef('mitter.upa.Mobile')?.canBeEmpty, false, 'nor a mobile number');
  t.equal(standardDef('mitter.upa.City'), undefined, 'address keys are mitter.upa.address.*');
  t.throws(() => ((STANDARD_ATTRIBUTE_DEFS[0] as { canBeEmpty: boolean }).canBeEmpty = false), 'frozen');
});

const input = (value: string, contentType = 'text/plain', contentEncoding = 'identity', key = 'app.k') => ({ key, contentType, contentEncoding, value });

t.test('checkAttribute: what is accepted, by example', async (t) => {
  t.same(checkAttribute(input('x', 'TEXT/Plain', 'IDENTITY'), def(), where), input('x'), 'matched case-insensitively, stored in the def’s spelling');
  t.equal(checkAttribute(input(''), def(), where).value, '', 'empty when the def allows it');
  t.equal(checkAttribute(input('aGk=', 'text/plain', 'base64'), def(), where).value, 'aGk=');
  t.equal(checkAttribute(input('[1,2]', 'application/json'), def(), where).value, '[1,2]');
  t.equal(checkAttribute(input('{', 'text/plain'), def(), where).value, '{', 'JSON is checked only for JSON types');
  t.equal(checkAttribute(input('x'.repeat(MAX_VALUE_BYTES)), def(), where).value.length, MAX_VALUE_BYTES, 'exactly 64 KiB is accepted');
  t.equal(
    checkAttribute(input(' A@Example.com ', 'text/plain', 'identity', 'mitter.upa.Email'), standardDef('mitter.upa.Email'), where).value,
    'a@example.com',
  );
  t.equal(
    checkAttribute(input('+1 (213) 373-4253', 'text/plain', 'UTF-8', 'mitter.upa.Mobile'), standardDef('mitter.upa.Mobile'), where).value,
    '+12133734253',
  );
});

t.test('checkAttribute: refusals name the key and the rule', async (t) => {
  const cases: Array<[string, () => unknown, string]> = [
    ['no def', () => checkAttribute(input('x'), undefined, where), 'undefined_key'],
    ['type', () => checkAttribute(input('x', 'text/html'), def(), where), 'content_type'],
    ['encoding', () => checkAttribute(input('x', 'text/plain', 'gzip'), def(), where), 'content_encoding'],
    ['empty', () => checkAttribute(input(''), def({ canBeEmpty: false }), where), 'empty'],
    ['size', () => checkAttribute(input('x'.repeat(MAX_VALUE_BYTES + 1)), def(), where), 'max_size'],
    ['size in bytes', () => checkAttribute(input('€'.repeat(Math.floor(MAX_VALUE_BYTES / 3) + 1)), def(), where), 'max_size'],
    ['base64', () => checkAttribute(input('###', 'text/plain', 'base64'), def(), where), 'base64'],
    ['json', () => checkAttribute(input('{', 'application/json'), def(), where), 'json'],
    ['json suffix', () => checkAttribute(input('{', 'application/ld+json'), def({ allowedContentTypes: ['application/ld+json'] }), where), 'json'],
    ['NUL', () => checkAttribute(input('\u0000'), def(), where), 'encoding'],
    ['surrogate', () => checkAttribute(input('\udc00'), def(), where), 'encoding'],
    ['email', () => checkAttribute(input('a@b', 'text/plain', 'identity', 'mitter.upa.Email'), standardDef('mitter.upa.Email'), where), 'email'],
    ['mobile', () => checkAttribute(input('12345', 'text/plain', 'identity', 'mitter.upa.Mobile'), standardDef('mitter.upa.Mobile'), where), 'phone'],
  ];
  for (const [name, fn, rule] of cases) {
    t.match(outcome(fn), { ok: false, error: { code: 'invalid_domain_attribute', diagnostics: { rule, field: 'attributes[0]' } } }, name);
  }
});

t.test('parseAttributeInput and parseKeyList', async (t) => {
  t.same(
    parseAttributeInput({ value: 'v' }, { field: 'body', location: 'body' }, 'app.k'),
    input('v'),
    'key from the path; text/plain and identity by default',
  );
  t.match(
    outcome(() => parseAttributeInput({ key: 'app.other', value: 'v' }, { field: 'body', location: 'body' }, 'app.k')),
    { ok: false, error: { code: 'invalid_entity', diagnostics: { field: 'key', rule: 'key_mismatch' } } },
  );
  t.match(
    outcome(() => parseAttributeInput({ key: 'app.k', value: 'v', contentType: 7 }, where)),
    { ok: false, error: { diagnostics: { field: 'attributes[0].contentType', rule: 'type' } } },
  );
  t.same(parseKeyList('a.b, c,a.b', { field: 'keys', location: 'path' }), ['a.b', 'c'], 'trimmed, each once, in order');
  t.match(
    outcome(() => parseKeyList('a,,b', { field: 'keys', location: 'path' })),
    { ok: false, error: { diagnostics: { field: 'keys[1]', rule: 'pattern' } } },
  );
  t.match(
    outcome(() => parseKeyList(Array.from({ length: 101 }, (_, i) => `k${i}`).join(','), { field: 'keys', location: 'path' })),
    { ok: false, error: { diagnostics: { rule: 'maxItems' } } },
  );
});

// Any UTF-16 code unit, lone surrogates included: what a JSON body can carry.
const anyText = fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((code) => String.fromCharCode(code)), maxLength: 40 });
const vocabulary = fc.constantFrom('text/plain', 'TEXT/PLAIN', 'application/json', 'image/png', 'identity', 'UTF-8', 'base64', 'gzip', '', 'x/y;z');
const anyJson = fc.oneof(anyText, fc.integer(), fc.boolean(), fc.constant(null), fc.array(fc.oneof(anyText, vocabulary), { maxLength: 40 }));

t.test('property: defs parse or fail with a 4xx, and what parses is well-formed', async () => {
  fc.assert(
    fc.property(
      fc.record(
        {
          key: fc.oneof(anyText, fc.constantFrom('app.k', 'a'.repeat(128))),
          allowedContentTypes: anyJson,
          allowedContentEncodings: anyJson,
          canBeEmpty: anyJson,
          entityType: anyJson,
        },
        { requiredKeys: [] },
      ),
      (body) => {
        const result = outcome(() => parseAttributeDef(body));
        if (!result.ok) return result.error.code === 'invalid_entity';
        const parsed = result.value;
        return (
          /^[A-Za-z0-9._-]{1,128}$/.test(parsed.key) &&
          parsed.allowedContentTypes.length >= 1 &&
          parsed.allowedContentEncodings.length >= 1 &&
          new Set(parsed.allowedContentTypes.map((v) => v.toLowerCase())).size === parsed.allowedContentTypes.length &&
          typeof parsed.canBeEmpty === 'boolean'
        );
      },
    ),
    { numRuns: 2000 },
  );
});

t.test('property: values are accepted only within their def, and checking a stored value again changes nothing', async () => {
  const defs = fc.constantFrom<AttributeDefinition | undefined>(
    def(),
    def({ canBeEmpty: false, allowedContentTypes: ['image/png'], allowedContentEncodings: ['base64'] }),
    standardDef('mitter.upa.Email'),
    standardDef('mitter.upa.Mobile'),
    standardDef('mitter.upa.Bio'),
    undefined,
  );
  const values = fc.oneof(anyText, fc.constantFrom('', 'aGk=', '{"a":1}', ' A@B.io ', '+1 213 373 4253', '+91 98765 43210 ext 2'));
  fc.assert(
    fc.property(defs, vocabulary, vocabulary, values, (d, contentType, contentEncoding, value) => {
      const attribute = { key: d?.key ?? 'app.k', contentType, contentEncoding, value };
      const result = outcome(() => checkAttribute(attribute, d, where));
      if (!result.ok) return result.error.code === 'invalid_domain_attribute' && result.error.diagnostics?.key === attribute.key;
      const stored = result.value;
      if (d === undefined) return false;
      const fits =
        d.allowedContentTypes.includes(stored.contentType) &&
        d.allowedContentEncodings.includes(stored.contentEncoding) &&
        (stored.value !== '' || d.canBeEmpty) &&
        Buffer.byteLength(stored.value) <= MAX_VALUE_BYTES;
      return fits && JSON.stringify(checkAttribute(stored, d, where)) === JSON.stringify(stored);
    }),
    { numRuns: 5000 },
  );
});
