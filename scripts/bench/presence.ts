// `npm run bench -- presence`:
//   1. Over HTTP, 1,000 seeded users with a token each, paired ABBA against the bare routes (whose
//      requests carry the same token and body under a header the server ignores):
//      - token-authenticated `POST /v1/users/me/presence` (a three-link chain) vs bare POST;
//      - token-authenticated `GET /v1/users/{10 ids}/presence` vs bare GET.
//   2. The scheduler in process on the real clock: 100,000 users whose chains fall due at random
//      within 60 s (Online(1–60 s) → Offline). Reports how late each transition was published
//      (p50, p99, max), whether each was published exactly once, the time to set them all, and the
//      process memory before and after.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { buildApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { migrate } from '../../src/platform/migrate.ts';
import { MemoryBus } from '../../src/platform/bus.ts';
import { PRESENCE_TOPIC, type PresenceMessage } from '../../src/modules/presence/service.ts';
import { BENCH_USER_ID, issueTokens, load, loadAbba, PRESENCE_CHAIN as CHAIN, report, seedUsers, startBenchServer, tokenRequest } from './harness.ts';

const HTTP_USERS = 1_000;
const SCHEDULED_USERS = Number(process.env.BENCH_PRESENCE_USERS ?? 100_000);
const WINDOW_SECONDS = 60;
const userId = BENCH_USER_ID;

v8.setFlagsFromString('--expose-gc');
const collectGarbage = vm.runInNewContext('gc') as () => void;

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

async function benchHttp(): Promise<void> {
  const userIds = Array.from({ length: HTTP_USERS }, (_, i) => userId(i));
  const server = await startBenchServer((db, credentials) => seedUsers(db, credentials.applicationId, userIds));
  try {
    const tokens = await issueTokens(server, userIds);
    let next = 0;
    const token = () => tokens[(next = (next + 7) % HTTP_USERS)] as string;
    let listStart = 0;
    const tenIds = () => {
      listStart = (listStart + 13) % HTTP_USERS;
      return Array.from({ length: 10 }, (_, k) => userId((listStart + k * 97) % HTTP_USERS)).join(',');
    };
    const post = (path: string, authenticated: boolean) => tokenRequest('POST', token, authenticated, () => ({ path, body: CHAIN }));
    // Both sides carry the ten ids (the bare side in a header), so the requests are the same size.
    const get = (path: (ids: string) => string, authenticated: boolean) =>
      tokenRequest('GET', token, authenticated, () => {
        const ids = tenIds();
        return { path: path(ids), headers: { 'x-unverified-ids': ids } };
      });

    await load(server, 'warm-up', { url: server.url, duration: 2, requests: [post('/v1/users/me/presence', true)] });
    const [barePost, setPresence] = await loadAbba(
      server,
      ['bare POST /bench/bare', { url: server.url, requests: [post('/bench/bare', false)] }],
      ['token POST /v1/users/me/presence', { url: server.url, requests: [post('/v1/users/me/presence', true)] }],
    );
    const [bareGet, getPresence] = await loadAbba(
      server,
      ['bare GET /bench/bare', { url: server.url, requests: [get(() => '/bench/bare', false)] }],
      ['token GET /v1/users/{10 ids}/presence', { url: server.url, requests: [get((ids) => `/v1/users/${ids}/presence`, true)] }],
    );
    report(
      [barePost, setPresence, bareGet, getPresence],
      [
        ['POST presence / bare POST', setPresence, barePost],
        ['GET presence of 10 / bare GET', getPresence, bareGet],
      ],
    );
  } finally {
    await server.stop();
  }
}

async function benchScheduler(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'locus-bench-presence-'));
  const config = loadConfig({ ...process.env, LOCUS_DATA_DIR: dataDir, LOG_LEVEL: 'warn' });
  await migrate(config);
  const bus = new MemoryBus();
  const app = await buildApp(config, { logger: false, watchApplications: false, bus });
  try {
    const { applicationId } = await app.locus.applications.create('bench-presence');
    collectGarbage();
    const before = process.memoryUsage();
    await seedUsers(
      app.locus.db,
      applicationId,
      Array.from({ length: SCHEDULED_USERS }, (_, i) => userId(i)),
    );
    const lateness: number[] = [];
    const seen = new Set<string>();
    let duplicates = 0;
    bus.subscribe(PRESENCE_TOPIC, (message) => {
      const m = message as PresenceMessage;
      if (m.cause !== 'transition') return;
      lateness.push(Date.now() - m.setTimeMs);
      if (seen.has(m.userId)) duplicates += 1;
      seen.add(m.userId);
    });

    const setStarted = performance.now();
    // 100 sets in flight at a time, as from concurrent requests (each waits for its event's group commit).
    for (let start = 0; start < SCHEDULED_USERS; start += 100) {
      const sets = [];
      for (let i = start; i < Math.min(start + 100, SCHEDULED_USERS); i += 1) {
        const ttl = 1 + Math.floor(Math.random() * WINDOW_SECONDS);
        sets.push(
          app.locus.presence.set(applicationId, userId(i), {
            type: 'mitter.up.Online',
            timeToLive: ttl,
            expiresTo: { type: 'mitter.up.Offline', timeToLive: 0, expiresTo: null },
          }),
        );
      }
      await Promise.all(sets);
    }
    const setSeconds = (performance.now() - setStarted) / 1000;
    collectGarbage();
    const scheduled = process.memoryUsage();
    const flushStarted = performance.now();
    await app.locus.presence.flush();
    const flushSeconds = (performance.now() - flushStarted) / 1000;
    collectGarbage();
    const flushed = process.memoryUsage();
    const deadline = Date.now() + (WINDOW_SECONDS + 5) * 1000;
    while (lateness.length < SCHEDULED_USERS && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 250));
    const sorted = [...lateness].sort((a, b) => a - b);
    console.table({
      users: SCHEDULED_USERS,
      'set all (s)': Number(setSeconds.toFixed(2)),
      'persist the rest (s)': Number(flushSeconds.toFixed(2)),
      transitions: lateness.length,
      duplicates,
      'late p50 (ms)': percentile(sorted, 50),
      'late p99 (ms)': percentile(sorted, 99),
      'late max (ms)': sorted.at(-1) ?? Number.NaN,
      'rss at start': mib(before.rss),
      'rss, all scheduled': mib(scheduled.rss),
      'external + array buffers, all scheduled': mib(scheduled.external + scheduled.arrayBuffers),
      'heap at start': mib(before.heapUsed),
      'heap, all scheduled': mib(scheduled.heapUsed),
      'heap per user (bytes)': Math.round((scheduled.heapUsed - before.heapUsed) / SCHEDULED_USERS),
      'heap per user, persisted (bytes)': Math.round((flushed.heapUsed - before.heapUsed) / SCHEDULED_USERS),
    });
    if (lateness.length !== SCHEDULED_USERS || duplicates > 0) {
      console.error('Not every transition was published exactly once: the figures above are not valid.');
      process.exitCode = 1;
    }
  } finally {
    await app.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

export async function benchPresence(): Promise<void> {
  if (process.env.BENCH_PRESENCE_PART !== 'scheduler') await benchHttp();
  if (process.env.BENCH_PRESENCE_PART !== 'http') await benchScheduler();
}
