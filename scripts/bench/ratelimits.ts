// `npm run bench -- ratelimits`: what counting every request against a rate-limit budget costs.
//   1. Over HTTP: one application, 1,000 users with a token each, its limits switched between
//      runs: "on" keeps the defaults (no request is refused: 1,000 users share the load, far under
//      50 a second each), "off" sets rateLimitUser=0 and rateLimitApp=0. Same users, tokens and
//      rows on both sides. Paired ABBA, repeated (BENCH_ROUNDS, default 4, of BENCH_SECONDS,
//      default 5 s): the round-to-round spread shows the noise. BENCH_PIN=1 keeps the server and
//      the load generator on a core each, which narrows that spread a lot on a 2-core machine.
//        - token `GET /v1/test/application/by/accesskey` (the echo: authentication and little else);
//        - token `POST /v1/users/me/presence` (a three-link chain).
//   2. In process: the check itself (budget, counter, verdict) on a real Fastify request, per
//      call, set against the echo's server CPU per request from step 1.
import { setTimeout as sleep } from 'node:timers/promises';
import Fastify from 'fastify';
import type { Principal } from '../../src/auth/principal.ts';
import { APPLICATIONS_POLL_MS } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { ApplicationsService } from '../../src/modules/applications/service.ts';
import { DEFAULT_SETTINGS } from '../../src/modules/applications/settings.ts';
import { createApplicationsStore } from '../../src/modules/applications/store.ts';
import { systemClock } from '../../src/platform/clock.ts';
import { createDb } from '../../src/platform/db.ts';
import { MemoryKv } from '../../src/platform/kv.ts';
import { registerRateLimits } from '../../src/server/rate-limits.ts';
import { BENCH_USER_ID as userId, issueTokens, load, loadAbba, PRESENCE_CHAIN, report, seedUsers, startBenchServer, tokenRequest } from './harness.ts';

const USERS = 1_000;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 4);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);

/** Microseconds per `check` of a user-token request, on the embedded (in-process) counter. */
async function checkMicros(): Promise<number> {
  const app = Fastify();
  const kv = new MemoryKv(systemClock);
  // A budget nobody reaches in this loop: every call is counted and allowed, as in the HTTP run.
  const settings = { ...DEFAULT_SETTINGS, rateLimitUser: 1_000_000 };
  const application = { applicationId: 'bench', name: 'bench', settings, createdAt: new Date() };
  const limits = await registerRateLimits(app, { applications: { cached: () => application, get: async () => application }, kv, clock: systemClock });
  const principals: Principal[] = Array.from(
    { length: USERS },
    (_, i) => ({ kind: 'user', via: 'token', applicationId: 'bench', userId: userId(i) }) as Principal,
  );
  let micros = Number.NaN;
  app.get('/', async (request, reply) => {
    const calls = 100_000;
    for (let warm = 0; warm < 2; warm++) {
      const started = process.hrtime.bigint();
      for (let i = 0; i < calls; i++) {
        // As the pipeline does: it awaits only when the check returns a promise.
        const counted = limits.check(request, reply, principals[(i * 7) % USERS] as Principal, 'users.me.read');
        if (counted !== undefined) await counted;
      }
      micros = Number(process.hrtime.bigint() - started) / 1_000 / calls;
    }
    return {};
  });
  await app.inject({ method: 'GET', url: '/' });
  await app.close();
  await kv.close();
  return micros;
}

export async function benchRateLimits(): Promise<void> {
  const userIds = Array.from({ length: USERS }, (_, i) => userId(i));
  const server = await startBenchServer(async (db, credentials) => seedUsers(db, credentials.applicationId, userIds));
  const config = loadConfig(server.env);
  const db = createDb(config);
  const applications = new ApplicationsService({ store: createApplicationsStore(db), masterKey: config.masterKey, clock: systemClock });
  const { applicationId } = server.credentials;
  // The server notices a settings change within one poll of the applications revision.
  const limits = async (side: 'a' | 'b') => {
    await applications.updateSettings(
      applicationId,
      side === 'a'
        ? ['rateLimitUser=0', 'rateLimitApp=0']
        : [`rateLimitUser=${DEFAULT_SETTINGS.rateLimitUser}`, `rateLimitApp=${DEFAULT_SETTINGS.rateLimitApp}`],
    );
    await sleep(APPLICATIONS_POLL_MS + 500);
  };
  try {
    const tokens = await issueTokens(server, userIds);
    let next = 0;
    const rotating = () => tokens[(next = (next + 7) % USERS)] as string;
    const echo = tokenRequest('GET', rotating, true, () => ({ path: '/v1/test/application/by/accesskey' }));
    const presence = tokenRequest('POST', rotating, true, () => ({ path: '/v1/users/me/presence', body: PRESENCE_CHAIN }));

    await load(server, 'warm-up', { url: server.url, duration: 2, requests: [echo] });
    const [echoOff, echoOn] = await loadAbba(
      server,
      ['token echo, limits off', { url: server.url, duration: SECONDS, requests: [echo] }],
      ['token echo, limits on', { url: server.url, duration: SECONDS, requests: [echo] }],
      ROUNDS,
      limits,
    );
    const [presenceOff, presenceOn] = await loadAbba(
      server,
      ['token POST presence, limits off', { url: server.url, duration: SECONDS, requests: [presence] }],
      ['token POST presence, limits on', { url: server.url, duration: SECONDS, requests: [presence] }],
      ROUNDS,
      limits,
    );
    report(
      [echoOff, echoOn, presenceOff, presenceOn],
      [
        ['echo: limits on / off', echoOn, echoOff],
        ['presence POST: limits on / off', presenceOn, presenceOff],
      ],
    );
    const micros = await checkMicros();
    const share = (100 * micros) / echoOff.serverCpuMicrosPerRequest;
    console.log(`the check in process: ${micros.toFixed(2)} µs per request = ${share.toFixed(1)} % of the echo's server CPU per request (limits off)`);
  } finally {
    await db.close();
    await server.stop();
  }
}
