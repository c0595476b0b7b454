import t from 'tap';
import {
  EMPTY_BODY_MD5,
  checkDate,
  looksSigned,
  nonceRetentionMs,
  parseHttpDate,
  readSignatureHeaders,
  signRequestHeaders,
  signatureDigest,
  stringToSign,
  verifyDigest,
  type SignatureHeaders,
} from '../../src/auth/signature.ts';
import { randomBytes } from 'node:crypto';
import { hmacSha1Key, md5Base64 } from '../../src/platform/crypto.ts';

// docs/signing.md test vectors.
const SECRET_B64 = 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=';
const SECRET = Buffer.from(SECRET_B64, 'base64');
const KEY = 'AKtestAKtestAK16';
const DATE = 'Tue, 22 Nov 2022 22:43:00 GMT';
const NONCE = 'abcdefghijklmnopqrstuvwxyz012345';
const DATE_MS = Date.parse(DATE);
const USER_BODY = '{"userId":"user-0001","screenName":{"screenName":"Alice"}}';

const vectors = [
  { method: 'GET', path: '/v1/users/me', contentType: null, body: '', digest: '748uN3efouwDiuNaGgxY1u91zkU=' },
  { method: 'POST', path: '/v1/users', contentType: 'application/json', body: USER_BODY, digest: '8yLbzxRFSNMoysZm4i6ZmmT7l+E=' },
  { method: 'POST', path: '/v1/users/user-0001/tokens', contentType: 'application/json', body: '', digest: 'viVR9gyxECdi88b2hfn22lC8/sY=' },
];

function headersFor(v: (typeof vectors)[number], overrides: Partial<SignatureHeaders> = {}): SignatureHeaders {
  return { accessKey: KEY, digest: v.digest, date: DATE, nonce: NONCE, contentMd5: null, contentType: v.contentType, ...overrides };
}

t.test('the three reference vectors (the examples of the mitter.io documentation)', async (t) => {
  t.equal(md5Base64(Buffer.alloc(0)), EMPTY_BODY_MD5);
  t.equal(md5Base64(Buffer.from(USER_BODY)), 'MFJkjtp8+GK2VaVkYMryZQ==');
  t.equal(
    stringToSign({ method: 'get', contentType: null, contentMd5: EMPTY_BODY_MD5, date: DATE, path: '/v1/users/me', nonce: NONCE }),
    `GET\nnull\n${EMPTY_BODY_MD5}\n${DATE}\n/v1/users/me\n${NONCE}`,
  );
  for (const v of vectors) {
    const message = stringToSign({
      method: v.method,
      contentType: v.contentType,
      contentMd5: md5Base64(Buffer.from(v.body)),
      date: DATE,
      path: v.path,
      nonce: NONCE,
    });
    t.equal(signatureDigest(SECRET, message), v.digest, `${v.method} ${v.path} digest`);
    const verified = verifyDigest({ method: v.method, rawPath: v.path, body: Buffer.from(v.body), headers: headersFor(v) }, SECRET);
    t.same(verified, { ok: true, value: { path: v.path } }, `${v.method} ${v.path} verifies`);
    t.same(
      verifyDigest({ method: v.method, rawPath: v.path, body: Buffer.from(v.body), headers: headersFor(v) }, hmacSha1Key(SECRET)),
      verified,
      'prepared key',
    );
    const signed = signRequestHeaders({
      method: v.method,
      path: v.path,
      body: v.body,
      contentType: v.contentType,
      accessKey: KEY,
      accessSecret: SECRET_B64,
      date: DATE,
      nonce: NONCE,
    });
    t.equal(signed.authorization, `Auth ${KEY}:${v.digest}`, `${v.method} ${v.path} client signer`);
  }
});

t.test('verifyDigest refuses every forged part', async (t) => {
  const [get, post] = vectors as [(typeof vectors)[number], (typeof vectors)[number]];
  const body = Buffer.from(post.body);
  const check = (request: Parameters<typeof verifyDigest>[0]) => {
    const outcome = verifyDigest(request, SECRET);
    return outcome.ok ? 'ok' : outcome.check;
  };
  t.equal(check({ method: 'POST', rawPath: post.path, body, headers: headersFor(post) }), 'ok');
  t.equal(check({ method: 'PUT', rawPath: post.path, body, headers: headersFor(post) }), 'digest', 'other method');
  t.equal(check({ method: 'POST', rawPath: '/v1/users/x', body, headers: headersFor(post) }), 'digest', 'other path');
  t.equal(check({ method: 'POST', rawPath: post.path, body: Buffer.from(`${post.body} `), headers: headersFor(post) }), 'digest', 'other body');
  t.equal(
    check({ method: 'POST', rawPath: post.path, body, headers: headersFor(post, { contentType: 'application/json; charset=utf-8' }) }),
    'digest',
    'other content type',
  );
  t.equal(check({ method: 'POST', rawPath: post.path, body, headers: headersFor(post, { date: 'Tue, 22 Nov 2022 22:43:01 GMT' }) }), 'digest', 'other date');
  t.equal(check({ method: 'POST', rawPath: post.path, body, headers: headersFor(post, { nonce: `${NONCE}x` }) }), 'digest', 'other nonce');
  t.equal(check({ method: 'POST', rawPath: post.path, body, headers: headersFor(post, { digest: post.digest.replace('8', '9') }) }), 'digest', 'other digest');
  t.equal(check({ method: 'POST', rawPath: post.path, body, headers: headersFor(post, { digest: '' }) }), 'digest', 'empty digest');
  t.equal(
    check({ method: 'GET', rawPath: get.path, body: Buffer.alloc(0), headers: headersFor(get, { contentType: 'application/json' }) }),
    'digest',
    'content type added to a GET',
  );
  // Content-MD5: checked against the raw bytes when present, optional otherwise.
  t.equal(
    check({ method: 'POST', rawPath: post.path, body, headers: headersFor(post, { contentMd5: 'MFJkjtp8+GK2VaVkYMryZQ==' }) }),
    'ok',
    'right Content-MD5',
  );
  t.equal(check({ method: 'POST', rawPath: post.path, body, headers: headersFor(post, { contentMd5: EMPTY_BODY_MD5 }) }), 'content_md5', 'wrong Content-MD5');
  t.equal(
    check({ method: 'POST', rawPath: post.path, body: Buffer.alloc(0), headers: headersFor(post, { contentMd5: 'MFJkjtp8+GK2VaVkYMryZQ==' }) }),
    'content_md5',
    'body dropped',
  );
  const otherSecret = Buffer.alloc(32, 7);
  t.notOk(verifyDigest({ method: 'POST', rawPath: post.path, body, headers: headersFor(post) }, otherSecret).ok, 'other secret');
});

t.test('raw path first, then the percent-decoded path', async (t) => {
  const sign = (path: string) =>
    signatureDigest(SECRET, stringToSign({ method: 'GET', contentType: null, contentMd5: EMPTY_BODY_MD5, date: DATE, path, nonce: NONCE }));
  const headers = (path: string): SignatureHeaders => ({ accessKey: KEY, digest: sign(path), date: DATE, nonce: NONCE, contentMd5: null, contentType: null });
  // Node SDK: signs the raw path, sends it unencoded.
  t.same(verifyDigest({ method: 'GET', rawPath: '/v1/users/user@0001$x', body: Buffer.alloc(0), headers: headers('/v1/users/user@0001$x') }, SECRET), {
    ok: true,
    value: { path: '/v1/users/user@0001$x' },
  });
  // Java SDK: signs the decoded path, sends it encoded.
  t.same(verifyDigest({ method: 'GET', rawPath: '/v1/users/user%400001%24x', body: Buffer.alloc(0), headers: headers('/v1/users/user@0001$x') }, SECRET), {
    ok: true,
    value: { path: '/v1/users/user@0001$x' },
  });
  // A client that signed the encoded form while sending it encoded also passes (raw match).
  t.ok(verifyDigest({ method: 'GET', rawPath: '/v1/users/a%20b', body: Buffer.alloc(0), headers: headers('/v1/users/a%20b') }, SECRET).ok);
  // Malformed percent-encoding: only the raw path is tried.
  t.notOk(verifyDigest({ method: 'GET', rawPath: '/v1/users/%E0%A4%A', body: Buffer.alloc(0), headers: headers('/v1/users/x') }, SECRET).ok);
  // The query string is never part of the signed path: callers pass the path without it.
  t.notOk(verifyDigest({ method: 'GET', rawPath: '/v1/users?locators=a', body: Buffer.alloc(0), headers: headers('/v1/users') }, SECRET).ok);
});

t.test('readSignatureHeaders: header variants', async (t) => {
  const base = { 'x-mitter-application-access-key': KEY, authorization: `Auth ${KEY}:abc=`, date: DATE, nonce: NONCE };
  const read = (headers: Record<string, string | string[] | undefined>) => {
    const outcome = readSignatureHeaders(headers);
    return outcome.ok ? outcome.value : outcome.check;
  };
  t.match(read(base), { accessKey: KEY, digest: 'abc=', date: DATE, nonce: NONCE, contentMd5: null, contentType: null });
  const { 'x-mitter-application-access-key': _, ...withoutKeyHeader } = base;
  t.match(read({ ...withoutKeyHeader, 'x-application-access-key': KEY }), { accessKey: KEY }, 'legacy header name');
  t.match(read(withoutKeyHeader), { accessKey: KEY }, 'key from Authorization alone');
  t.match(read({ ...base, authorization: `auth ${KEY}:abc=` }), { accessKey: KEY }, 'scheme is case-insensitive');
  t.match(read({ ...base, 'content-md5': 'xyz', 'content-type': 'application/json' }), { contentMd5: 'xyz', contentType: 'application/json' });
  t.equal(read({ ...base, 'x-mitter-application-access-key': 'OTHERKEYOTHERKEY' }), 'access_key', 'key header disagrees with Authorization');
  t.equal(read({ ...base, 'x-application-access-key': 'OTHERKEYOTHERKEY' }), 'access_key', 'legacy and modern headers disagree');
  t.equal(read({ ...base, authorization: undefined }), 'authorization', 'no Authorization');
  t.equal(read({ ...base, authorization: `Auth ${KEY}` }), 'authorization', 'no digest');
  t.equal(read({ ...base, authorization: `Auth :abc=` }), 'authorization', 'no key');
  t.equal(read({ ...base, authorization: `Bearer ${KEY}:abc=` }), 'authorization', 'other scheme');
  t.equal(read({ ...base, date: undefined }), 'date', 'no Date');
  t.equal(read({ ...base, nonce: undefined }), 'nonce', 'no Nonce');
  t.equal(read({ ...base, nonce: '' }), 'nonce', 'empty Nonce');
  t.equal(read({ ...base, nonce: 'n'.repeat(129) }), 'nonce', 'oversized Nonce');
  t.equal(read({ ...base, nonce: [NONCE, NONCE] }), 'headers', 'Nonce sent twice');
  t.ok(looksSigned(base));
  t.ok(looksSigned({ 'x-application-access-key': KEY }));
  t.ok(looksSigned({ authorization: 'Auth x:y' }));
  t.notOk(looksSigned({ authorization: 'Bearer abc' }));
  t.notOk(looksSigned({}));
});

t.test('Date window and formats', async (t) => {
  t.same(checkDate(DATE, DATE_MS), { ok: true, value: DATE_MS });
  t.ok(checkDate(DATE, DATE_MS + 25_000).ok, '25 s behind is accepted');
  t.ok(checkDate(DATE, DATE_MS - 25_000).ok, '25 s ahead is accepted');
  t.match(checkDate(DATE, DATE_MS + 25_001), { ok: false, check: 'date' }, 'stale');
  t.match(checkDate(DATE, DATE_MS - 25_001), { ok: false, check: 'date' }, 'from the future');
  t.match(checkDate('yesterday', DATE_MS), { ok: false, check: 'date' }, 'not a date');
  t.equal(parseHttpDate('Wed, 23 Nov 2022 04:13:00 IST'), DATE_MS, 'IST from the Java SDK');
  t.equal(parseHttpDate('Tue, 22 Nov 2022 23:43:00 CET'), DATE_MS);
  t.equal(parseHttpDate('Tue, 22 Nov 2022 22:43:00 +0000'), DATE_MS);
  t.equal(parseHttpDate('Tue, 22 Nov 2022 22:43:00 XYZ'), null);
  // The same header twice (the last one parsed is remembered), and after another.
  for (const value of ['yesterday', 'yesterday', DATE, DATE, 'Tue, 22 Nov 2022 22:43:01 GMT', DATE, 'yesterday']) {
    t.equal(parseHttpDate(value), value === 'yesterday' ? null : Date.parse(value), `${value} again`);
  }
});

t.test('nonces are kept at least 35 s and until their Date leaves the window', async (t) => {
  t.equal(nonceRetentionMs(DATE_MS, DATE_MS), 35_000);
  t.equal(nonceRetentionMs(DATE_MS - 25_000, DATE_MS), 35_000);
  // Dated 25 s ahead: acceptable until now + 50 s, so it must be remembered past that.
  t.ok(nonceRetentionMs(DATE_MS + 25_000, DATE_MS) > 50_000);
});

t.test('a key prepared once digests as the raw key does, shorter or longer than the 64-byte block', async (t) => {
  const message = stringToSign({ method: 'GET', contentType: null, contentMd5: EMPTY_BODY_MD5, date: DATE, path: '/v1/users/me', nonce: NONCE });
  for (const length of [16, 32, 64, 65, 128, 200]) {
    const secret = randomBytes(length);
    t.equal(signatureDigest(hmacSha1Key(secret), message), signatureDigest(secret, message), `${length}-byte secret`);
  }
  t.not(signatureDigest(hmacSha1Key(randomBytes(128)), message), signatureDigest(hmacSha1Key(randomBytes(128)), message), 'other secrets differ');
});
