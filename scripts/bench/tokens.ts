// `npm run bench -- tokens`: 500 seeded users, one token each, issued through the API.
//   1. Token verification alone, in process: `tokens.verify` on a warm cache (the path every
//      token-authenticated request takes after the token's first use), and the HS512 signature
//      check a token's first presentation pays, in µs/op.
//   2. Over HTTP, paired ABBA against the bare unauthenticated route (same request sizes: the bare
//      requests carry the token under a header name the server ignores):
//      - a token-authenticated route that needs no other database read (the application echo);
//      - token-authenticated `GET /v1/users/me/tokens` (one indexed query for the user's tokens).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type autocannon from 'autocannon';
import { buildApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { migrate } from '../../src/platform/migrate.ts';
import { TokenSigner } from '../../src/modules/tokens/signing.ts';
import { issueTokens, load, loadAbba, report, seedUsers, signedHeaders, startBenchServer, tokenRequest } from './harness.ts';

const USERS = 500;
const userId = (i: number) => `bench-user-${String(i).padStart(5, '0')}`;

async function benchVerify(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'locus-bench-verify-'));
  const config = loadConfig({ ...process.env, LOCUS_DATA_DIR: dataDir, LOG_LEVEL: 'warn' });
  await migrate(config);
  const app = await buildApp(config, { logger: false, watchApplications: false });
  try {
    const credentials = await app.locus.applications.create('bench-verify');
    const signedInject = async (method: 'POST', path: string, body: string) => {
      const response = await app.inject({ method, url: path, headers: signedHeaders(credentials, method, path, body), payload: body });
      if (response.statusCode !== 200) throw new Error(`${method} ${path}: ${response.statusCode} ${response.body}`);
      return response.json<Record<string, unknown>>();
    };
    const tokens: string[] = [];
    for (let i = 0; i < 100; i += 1) {
      await signedInject('POST', '/v1/users', JSON.stringify({ userId: userId(i), screenName: { screenName: `Bench ${i}` } }));
      const issued = (await signedInject('POST', `/v1/users/${userId(i)}/tokens`, '{}')) as { userToken: { signedToken: string } };
      tokens.push(issued.userToken.signedToken);
    }
    const verify = (n: number) => app.locus.tokens.verify(tokens[n % tokens.length] as string, null);
    for (let i = 0; i < 20_000; i += 1) await verify(i); // warm-up: JIT, the token-state cache
    const rounds = 200_000;
    const started = process.hrtime.bigint();
    for (let i = 0; i < rounds; i += 1) await verify(i);
    const micros = Number(process.hrtime.bigint() - started) / 1_000 / rounds;
    console.log(`token verification, cache hit (100 tokens, ${rounds.toLocaleString('en')} calls): ${micros.toFixed(2)} µs/op`);

    // A token's first presentation: the HS512 signature is checked (later ones are remembered).
    const signer = new TokenSigner(app.jwt, config.masterKey);
    const fresh = Array.from({ length: 20_000 }, (_, i) =>
      signer.sign({ userTokenId: `T${String(i).padStart(21, '0')}`, applicationId: credentials.applicationId, userId: userId(i) }, 'k1', 1_795_428_000),
    );
    const checkStarted = process.hrtime.bigint();
    for (const token of fresh) signer.verify(token, () => true);
    const checkMicros = Number(process.hrtime.bigint() - checkStarted) / 1_000 / fresh.length;
    console.log(`signature check on a token's first presentation (20,000 tokens): ${checkMicros.toFixed(2)} µs/op`);
  } finally {
    await app.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

export async function benchTokens(): Promise<void> {
  await benchVerify();

  const userIds = Array.from({ length: USERS }, (_, i) => userId(i));
  const server = await startBenchServer((db, credentials) => seedUsers(db, credentials.applicationId, userIds));
  try {
    const tokens = await issueTokens(server, userIds);
    let next = 0;
    const token = () => tokens[(next = (next + 7) % USERS)] as string;
    const request = (path: string, authenticated: boolean) => tokenRequest('GET', token, authenticated, () => ({ path }));
    const bare = (): [string, autocannon.Options] => ['bare GET /bench/bare', { url: server.url, requests: [request('/bench/bare', false)] }];

    await load(server, 'warm-up', { url: server.url, duration: 2, requests: [request('/v1/users/me/tokens', true)] });
    const [bareA, echo] = await loadAbba(server, bare(), [
      'token GET /v1/test/application/by/accesskey',
      { url: server.url, requests: [request('/v1/test/application/by/accesskey', true)] },
    ]);
    const [bareB, list] = await loadAbba(server, bare(), [
      'token GET /v1/users/me/tokens',
      { url: server.url, requests: [request('/v1/users/me/tokens', true)] },
    ]);
    report(
      [bareA, echo, bareB, list],
      [
        ['token-authenticated echo (no database read) / bare', echo, bareA],
        ['token-authenticated GET /v1/users/me/tokens / bare', list, bareB],
      ],
    );
  } finally {
    await server.stop();
  }
}
