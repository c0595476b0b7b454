// `npm run bench -- datapath`: the request paths that read the database, each paired ABBA with a
// bare route in the same run (GET: a user-shaped JSON of ~200 bytes; POST: `{}`; neither reads
// anything), 50 connections (`BENCH_CONNECTIONS`). The bare requests
// carry the same credentials under header names the server ignores, so the client does the same
// work on both sides:
//   - token `GET /v1/users/me`;
//   - signed `GET /v1/users/{id}`;
//   - token `POST /v1/users/me/presence` (a three-link chain) against the bare POST;
//   - signed `GET /v1/users?locators=<email>,<tele>`;
//   - signed `GET /v1/users/{id}/profile` (5 attributes);
//   - token `GET /v1/users/me/tokens`.
// 1,000 users, each with an email and a phone locator, 5 profile attributes and one token, all made
// through the API. `BENCH_DB=postgresql` runs the server on a fresh PostgreSQL database
// (`BENCH_PG_URL`, default LOCUS_TEST_PG_URL or postgres@127.0.0.1/test; created and dropped).
// `BENCH_BEFORE_ROOT=<another checkout>` compares builds instead: that checkout's server and this
// one's, both seeded alike, each route run ABBA on the two (docs/benchmarks.md).
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type autocannon from 'autocannon';
import {
  instructionsRatio,
  issueTokens,
  load,
  loadAbba,
  NO_RATE_LIMITS,
  PRESENCE_CHAIN,
  report,
  signedGet,
  signedHeaders,
  startBenchServer,
  startBenchServerAt,
  tokenRequest,
} from './harness.ts';
import type { BenchServer, LoadResult } from './harness.ts';
import { NONCE_WINDOW_MS } from '../../src/auth/signature.ts';

const USERS = 1_000;
const ATTRIBUTES = ['mitter.upa.FirstName', 'mitter.upa.LastName', 'mitter.upa.Bio', 'mitter.upa.Gender', 'mitter.upa.address.City'];
const userId = (i: number) => `bench-user-${String(i).padStart(5, '0')}`;
const email = (i: number) => `email:bench${i}@example.com`;
const phone = (i: number) => `tele:+1213555${String(i).padStart(4, '0')}`;

async function signedPost(server: BenchServer, path: string, body: unknown): Promise<void> {
  const text = JSON.stringify(body);
  const response = await fetch(`${server.url}${path}`, { method: 'POST', headers: signedHeaders(server.credentials, 'POST', path, text), body: text });
  if (!response.ok) throw new Error(`POST ${path}: ${response.status} ${await response.text()}`);
}

async function seed(server: BenchServer): Promise<string[]> {
  const ids = Array.from({ length: USERS }, (_, i) => userId(i));
  for (let i = 0; i < USERS; i += 1) {
    await signedPost(server, '/v1/users', { userId: userId(i), screenName: { screenName: `Bench ${i}` }, userLocators: [email(i), phone(i)] });
    const attributes = ATTRIBUTES.map((key) => ({ key, contentType: 'text/plain', contentEncoding: 'identity', value: `${key} of user ${i}` }));
    await signedPost(server, `/v1/users/${userId(i)}/profile`, { attributes, patchType: 'Set' });
  }
  return issueTokens(server, ids);
}

async function postgresDatabase(): Promise<{ env: Record<string, string>; analyze(): Promise<void>; drop(): Promise<void> } | null> {
  if (process.env.BENCH_DB !== 'postgresql') return null;
  const adminUrl = process.env.BENCH_PG_URL ?? process.env.LOCUS_TEST_PG_URL ?? 'postgresql://postgres@127.0.0.1:5432/test';
  const name = `locus_bench_${randomBytes(6).toString('hex')}`;
  const admin = async (statement: string) => {
    const client = new pg.Client({ connectionString: adminUrl });
    await client.connect();
    try {
      await client.query(statement);
    } finally {
      await client.end();
    }
  };
  await admin(`CREATE DATABASE ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    env: { DATABASE_URL: url.toString(), LOCUS_MASTER_KEY: randomBytes(32).toString('hex') },
    // A running deployment has planner statistics (autovacuum); a database seeded seconds ago has
    // none, and PostgreSQL then plans lookups by locator as scans of the whole application.
    analyze: async () => {
      const client = new pg.Client({ connectionString: url.toString() });
      await client.connect();
      try {
        await client.query('ANALYZE');
      } finally {
        await client.end();
      }
    },
    drop: () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
  };
}

const SIGNED_BY_ID = 'signed GET /v1/users/{id}';

/** The six comparisons on one server: [name, bare request, route request]. */
function routePairs(server: BenchServer, tokens: string[]): Array<[string, autocannon.Request, autocannon.Request]> {
  const { credentials } = server;
  let nextToken = 0;
  const token = () => tokens[(nextToken = (nextToken + 7) % USERS)] as string;
  let nextUser = 0;
  const pick = () => (nextUser = (nextUser + 7919) % USERS);
  const byToken = (method: 'GET' | 'POST', path: string, authenticated: boolean, body?: string) =>
    tokenRequest(method, token, authenticated, () => ({ path, ...(body === undefined ? {} : { body }) }));
  return [
    ['token GET /v1/users/me', byToken('GET', '/bench/bare-user', false), byToken('GET', '/v1/users/me', true)],
    [SIGNED_BY_ID, signedGet(credentials, () => '/bench/bare-user', false), signedGet(credentials, () => `/v1/users/${userId(pick())}`, true)],
    ['token POST /v1/users/me/presence', byToken('POST', '/bench/bare', false, PRESENCE_CHAIN), byToken('POST', '/v1/users/me/presence', true, PRESENCE_CHAIN)],
    [
      'signed GET /v1/users?locators= (2)',
      signedGet(credentials, () => '/bench/bare-user', false),
      signedGet(credentials, () => `/v1/users?locators=${encodeURIComponent(`${email(pick())},${phone(pick())}`)}`, true),
    ],
    [
      'signed GET /v1/users/{id}/profile',
      signedGet(credentials, () => '/bench/bare-user', false),
      signedGet(credentials, () => `/v1/users/${userId(pick())}/profile`, true),
    ],
    ['token GET /v1/users/me/tokens', byToken('GET', '/bench/bare-user', false), byToken('GET', '/v1/users/me/tokens', true)],
  ];
}

export async function benchDatapath(): Promise<void> {
  // BENCH_BEFORE_ROOT=<another checkout>: each route on that checkout's server against this one's,
  // ABBA, both servers up and seeded alike, so the machine's drift weighs on both sides.
  const beforeRoot = process.env.BENCH_BEFORE_ROOT;
  const databases = beforeRoot === undefined ? [await postgresDatabase()] : [await postgresDatabase(), await postgresDatabase()];
  const servers: BenchServer[] = [];
  try {
    // Both without the rate limits (NO_RATE_LIMITS).
    servers.push(await startBenchServer(undefined, databases[0] ? { env: databases[0].env } : {}));
    if (beforeRoot !== undefined)
      servers.push(await startBenchServerAt(beforeRoot, { settings: NO_RATE_LIMITS, ...(databases[1] ? { env: databases[1].env } : {}) }));
    const pairs = [];
    for (const [i, server] of servers.entries()) {
      const tokens = await seed(server);
      await databases[i]?.analyze();
      pairs.push(routePairs(server, tokens));
    }
    const connections = Number(process.env.BENCH_CONNECTIONS ?? 50);
    const options = (server: BenchServer, requests: autocannon.Request[]): autocannon.Options => ({ url: server.url, connections, requests });
    // A route is measured in its steady state. A verified signature leaves its nonce in the server for
    // the replay window: for that long after signed traffic starts, the heap grows by every request
    // (and pays the major collections of a growing heap), so a signed route warms up for the whole
    // window and a little more; the others for 2 s, the JIT's warm-up. BENCH_WARMUP_SECONDS sets
    // every warm-up (under BENCH_CALLGRIND a server runs some 50 times slower and wants a longer one).
    const warmUpSeconds = (name: string) =>
      process.env.BENCH_WARMUP_SECONDS !== undefined ? Number(process.env.BENCH_WARMUP_SECONDS) : name.startsWith('signed ') ? NONCE_WINDOW_MS / 1000 + 5 : 2;
    const only = process.env.BENCH_DATAPATH_ONLY;
    const selected = (name: string) => only === undefined || only.split('|').some((part) => name.includes(part));
    const results: LoadResult[] = [];
    console.log(`database: ${databases[0] ? 'PostgreSQL' : 'SQLite'}`);
    const [server, before] = servers as [BenchServer, BenchServer | undefined];
    const [ours, theirs] = pairs as [ReturnType<typeof routePairs>, ReturnType<typeof routePairs> | undefined];

    if (before === undefined || theirs === undefined) {
      const ratios: Array<[string, LoadResult, LoadResult]> = [];
      for (const [name, bare, route] of ours) {
        if (!selected(name)) continue;
        await load(server, 'warm-up', { ...options(server, [route]), duration: warmUpSeconds(name) });
        const [bareResult, routeResult] = await loadAbba(server, [`bare (${name})`, options(server, [bare])], [name, options(server, [route])]);
        results.push(bareResult, routeResult);
        ratios.push([`${name} / bare`, routeResult, bareResult]);
      }
      report(results, ratios);
      return;
    }

    // Before and after: the bare GET (what every request pays), then each route.
    const comparisons: Array<[string, LoadResult, LoadResult]> = [];
    const compare = async (name: string, theirRequest: autocannon.Request, ourRequest: autocannon.Request) => {
      await load(before, 'warm-up', { ...options(before, [theirRequest]), duration: warmUpSeconds(name) });
      await load(server, 'warm-up', { ...options(server, [ourRequest]), duration: warmUpSeconds(name) });
      const [beforeResult, afterResult] = await loadAbba(
        [before, server],
        [`before: ${name}`, options(before, [theirRequest])],
        [name, options(server, [ourRequest])],
      );
      results.push(beforeResult, afterResult);
      comparisons.push([name, afterResult, beforeResult]);
    };
    // The signed read's bare GET: the signed headers, under names the server ignores.
    const bareOf = (pairs: ReturnType<typeof routePairs>) => pairs.find(([name]) => name === SIGNED_BY_ID)![1];
    await compare('bare GET (signed headers, ignored)', bareOf(theirs), bareOf(ours));
    for (const [i, [name, , route]] of ours.entries()) {
      if (selected(name)) await compare(name, theirs[i]![2], route);
    }
    console.log(`before: ${beforeRoot}`);
    report(results, []);
    for (const [name, after, earlier] of comparisons) {
      const times = after.requestsPerSecond / earlier.requestsPerSecond;
      const byCpu = earlier.serverCpuMicrosPerRequest / Math.max(1, after.serverCpuMicrosPerRequest);
      const byCount = instructionsRatio(after, earlier);
      const byInstructions = byCount === null ? '' : `; ${byCount.toFixed(2)}× by instructions per request`;
      console.log(`${name}: ${times.toFixed(2)}× the req/s of before; ${byCpu.toFixed(2)}× by server CPU per request${byInstructions}`);
    }
  } finally {
    for (const server of servers) await server.stop();
    for (const database of databases) await database?.drop();
  }
}
