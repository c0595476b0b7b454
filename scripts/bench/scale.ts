// `npm run bench -- scale`: the token and presence benches of the earlier issues against one
// instance, then against two instances of one deployment (PostgreSQL + Redis, as in
// docs/deployment.md), on this machine. With two instances each gets half of the connections, from two
// load generators running at once; their req/s are added.
//   - token echo: `GET /v1/test/application/by/accesskey` with a user token (no other database read);
//   - presence POST: `POST /v1/users/me/presence` (a three-link chain) with a user token;
//   - presence GET: `GET /v1/users/{10 ids}/presence` with a user token.
// Needs PostgreSQL (BENCH_PG_URL, default LOCUS_TEST_PG_URL or postgres@127.0.0.1/test: a database
// is created and dropped) and Redis (BENCH_REDIS_URL, default 127.0.0.1:6379; keys under a fresh prefix).
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type autocannon from 'autocannon';
import { connectRedis } from '../../src/platform/redis.ts';
import {
  BENCH_USER_ID as userId,
  issueTokens,
  load,
  PRESENCE_CHAIN as CHAIN,
  seedUsers,
  spawnBenchServer,
  startBenchServer,
  tokenRequest,
  type BenchServer,
  type LoadResult,
} from './harness.ts';

const USERS = 1_000;

function requests(tokens: string[]): Record<string, autocannon.Request[]> {
  let next = 0;
  const token = () => tokens[(next = (next + 7) % tokens.length)] as string;
  let start = 0;
  const tenIds = () => {
    start = (start + 13) % USERS;
    return Array.from({ length: 10 }, (_, k) => userId((start + k * 97) % USERS)).join(',');
  };
  return {
    'token echo': [tokenRequest('GET', token, true, () => ({ path: '/v1/test/application/by/accesskey' }))],
    'presence POST': [tokenRequest('POST', token, true, () => ({ path: '/v1/users/me/presence', body: CHAIN }))],
    'presence GET of 10': [tokenRequest('GET', token, true, () => ({ path: `/v1/users/${tenIds()}/presence` }))],
  };
}

/** Loads every server at once with `connections / servers.length` connections each; adds the req/s. */
async function loadAll(servers: BenchServer[], name: string, reqs: autocannon.Request[], connections: number): Promise<LoadResult> {
  const results = await Promise.all(
    servers.map((server) => load(server, name, { url: server.url, connections: Math.max(1, Math.floor(connections / servers.length)), requests: reqs })),
  );
  return {
    name: `${name} × ${servers.length}`,
    requestsPerSecond: results.reduce((sum, r) => sum + r.requestsPerSecond, 0),
    serverCpuPercent: results.reduce((sum, r) => sum + r.serverCpuPercent, 0),
    serverCpuMicrosPerRequest: Math.round(results.reduce((sum, r) => sum + r.serverCpuMicrosPerRequest, 0) / results.length),
    // Each load measured this whole process over the same window (its CPU / its own requests), so
    // the CPU per request of all of them together is the reciprocal of the sum of reciprocals.
    clientCpuMicrosPerRequest: Math.round(1 / results.reduce((sum, r) => sum + 1 / Math.max(1, r.clientCpuMicrosPerRequest), 0)),
    p50Ms: Math.max(...results.map((r) => r.p50Ms)),
    p99Ms: Math.max(...results.map((r) => r.p99Ms)),
    non2xx: results.reduce((sum, r) => sum + r.non2xx, 0),
    errors: results.reduce((sum, r) => sum + r.errors, 0),
  };
}

export async function benchScale(): Promise<void> {
  const adminUrl = process.env.BENCH_PG_URL ?? process.env.LOCUS_TEST_PG_URL ?? 'postgresql://postgres@127.0.0.1:5432/test';
  const redisUrl = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
  const name = `locus_bench_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const databaseUrl = new URL(adminUrl);
  databaseUrl.pathname = `/${name}`;
  const prefix = `locus-bench-${randomBytes(6).toString('hex')}`;
  const env = {
    DATABASE_URL: databaseUrl.toString(),
    REDIS_URL: redisUrl,
    LOCUS_REDIS_PREFIX: prefix,
    LOCUS_MASTER_KEY: randomBytes(32).toString('hex'),
  };
  const userIds = Array.from({ length: USERS }, (_, i) => userId(i));
  const servers: BenchServer[] = [];
  try {
    const first = await startBenchServer((db, credentials) => seedUsers(db, credentials.applicationId, userIds), { env });
    servers.push(first);
    const tokens = await issueTokens(first, userIds);
    const reqs = requests(tokens);
    const connections = Number(process.env.BENCH_CONNECTIONS ?? 20);
    const results: LoadResult[] = [];
    await loadAll([first], 'warm-up', reqs['presence POST'] as autocannon.Request[], connections);
    for (const [label, r] of Object.entries(reqs)) results.push(await loadAll([first], label, r, connections));
    const second = await spawnBenchServer({ ...process.env, ...env, LOG_LEVEL: 'warn', PORT: '0' }, first.credentials);
    servers.push(second);
    await loadAll([second], 'warm-up', reqs['presence POST'] as autocannon.Request[], connections);
    for (const [label, r] of Object.entries(reqs)) results.push(await loadAll([first, second], label, r, connections));
    console.table(results);
    for (const label of Object.keys(reqs)) {
      const one = results.find((r) => r.name === `${label} × 1`);
      const two = results.find((r) => r.name === `${label} × 2`);
      if (one && two)
        console.log(
          `${label}: two instances ${(two.requestsPerSecond / one.requestsPerSecond).toFixed(2)}× one (${one.requestsPerSecond} → ${two.requestsPerSecond} req/s)`,
        );
    }
    console.log(
      `(${connections} connections in all; load generators, servers, PostgreSQL and Redis share this machine's ${(await import('node:os')).cpus().length} cores)`,
    );
  } finally {
    for (const server of servers) await server.stop();
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
    const redis = connectRedis(redisUrl);
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  }
}
