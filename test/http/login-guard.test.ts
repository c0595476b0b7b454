// Password guessing (docs/tokens.md) over HTTP: failures lock one (user, address) pair, so a stranger
// cannot lock a user out of its own devices; a distributed guess (100 failures from all addresses)
// locks the user everywhere; unknown and known users, by id or by locator, get the same answers and
// the same work (one verification each).
import t, { type Test } from 'tap';
import type { PasswordHasher } from '../../src/modules/tokens/passwords.ts';
import { buildTestApp, type TestApp } from '../helpers/app.ts';
import { json } from '../helpers/world.ts';

/** A cheap stand-in for Argon2id (100 failures must not take seconds); counts verifications. */
function countingHasher() {
  const counts = { verify: 0 };
  const hasher: PasswordHasher = {
    hash: async (password) => `plain$${password}`,
    verify: async (hash, password) => {
      counts.verify += 1;
      return hash === `plain$${password}`;
    },
  };
  return { hasher, counts };
}

async function setup(
  t: Test,
): Promise<
  TestApp & { login(body: unknown, address?: string): Promise<{ statusCode: number; errorCode?: string; retryAfter?: string }>; counts: { verify: number } }
> {
  const { hasher, counts } = countingHasher();
  const test = await buildTestApp(t, { presenceTimers: false, passwordHasher: hasher });
  await test.app.locus.applications.updateSettings(test.credentials.applicationId, ['passwordLogin=true']);
  const created = await test.signed('POST', '/v1/users', {
    body: json({ userId: 'user-0001', screenName: { screenName: 'One' }, userLocators: ['email:one@example.com'] }),
  });
  t.equal(created.statusCode, 200);
  t.equal((await test.signed('PUT', '/v1/users/user-0001/password', { body: json({ password: 'the right password' }) })).statusCode, 200);
  return {
    ...test,
    counts,
    async login(body, address = '203.0.113.1') {
      const response = await test.app.inject({
        method: 'POST',
        url: '/v1/login',
        remoteAddress: address,
        headers: { 'content-type': 'application/json', 'x-mitter-application-id': test.credentials.applicationId },
        payload: json(body),
      });
      const parsed: { errorCode?: string } = response.statusCode === 200 ? {} : response.json<{ errorCode: string }>();
      const retryAfter = response.headers['retry-after'];
      return { statusCode: response.statusCode, errorCode: parsed.errorCode, retryAfter: typeof retryAfter === 'string' ? retryAfter : undefined };
    },
  };
}

const right = { userId: 'user-0001', password: 'the right password' };
const wrong = (i: number) => ({ userId: 'user-0001', password: `wrong guess ${i}` });

t.test('five failures lock one address out of one user; the user still logs in from elsewhere', async (t) => {
  const test = await setup(t);
  for (let i = 0; i < 5; i++) t.match(await test.login(wrong(i), '198.51.100.66'), { statusCode: 401, errorCode: 'invalid_credentials' });
  const locked = await test.login(right, '198.51.100.66');
  t.match(locked, { statusCode: 429, errorCode: 'too_many_attempts' }, 'the guessing address is locked, even with the right password');
  t.equal(locked.retryAfter, String(15 * 60));
  t.equal((await test.login({ locator: 'email:ONE@example.com', password: 'the right password' }, '198.51.100.66')).statusCode, 429, 'by locator too');
  t.equal((await test.login(right, '203.0.113.1')).statusCode, 200, 'the user, from its own address, logs in');
  test.clock.advance(15 * 60_000);
  t.equal((await test.login(right, '198.51.100.66')).statusCode, 200, 'open again after 15 minutes');
});

t.test('a hundred failures from many addresses lock the user everywhere', async (t) => {
  const test = await setup(t);
  for (let i = 0; i < 100; i++) {
    const address = `198.51.100.${i % 25}`; // four tries per address: no pair lock
    t.equal((await test.login(wrong(i), address)).statusCode, 401);
  }
  const everywhere = await test.login(right, '203.0.113.9');
  t.match(everywhere, { statusCode: 429, errorCode: 'too_many_attempts' }, 'even a fresh address');
  test.clock.advance(15 * 60_000);
  t.equal((await test.login(right, '203.0.113.9')).statusCode, 200, 'for 15 minutes');
});

t.test('unknown and known users, by id and by locator: the same answer after the same work', async (t) => {
  const test = await setup(t);
  const cases = [
    { userId: 'user-0001', password: 'wrong password' },
    { userId: 'nobody-0001', password: 'wrong password' },
    { locator: 'email:one@example.com', password: 'wrong password' },
    { locator: 'email:nobody@example.com', password: 'wrong password' },
  ];
  for (const body of cases) {
    const before = test.counts.verify;
    const answer = await test.login(body, '192.0.2.7');
    t.match(answer, { statusCode: 401, errorCode: 'invalid_credentials' }, JSON.stringify(body));
    t.equal(test.counts.verify - before, 1, 'one verification');
  }
  for (let i = 0; i < 5; i++) await test.login({ userId: 'nobody-0002', password: 'x'.repeat(8) }, '192.0.2.8');
  t.equal((await test.login({ userId: 'nobody-0002', password: 'x'.repeat(8) }, '192.0.2.8')).statusCode, 429, 'unknown users lock like known ones');
});
