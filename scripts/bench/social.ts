// `npm run bench -- social`: what blocking and privacy cost on the read paths they sit on.
//   1. Over HTTP, 1,000 seeded users, each online, with a token; viewers 0–199 hold 100 contacts each.
//      Viewers 100–199 are blocked by half of their contacts and by half of the ten users whose
//      presence they read; viewers 0–99 by nobody. Runs, token-authenticated:
//      - `GET /v1/users/{10 ids}/presence` without blocks, and with five of the ten blocking the reader;
//      - `GET /v1/users/me/contacts?limit=100` without blocks, and with half of the contacts blocking.
//   2. In process, on the same kind of data: the check itself (`social.viewpoint` for the 10 ids
//      and for the 100 contacts, warm cache) in µs per call, set against the server CPU each read
//      costs in (1): the check's share of the read.
import { performance } from 'node:perf_hooks';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Compilable } from 'kysely';
import { buildApp } from '../../src/app.ts';
import type { Principal } from '../../src/auth/principal.ts';
import { loadConfig } from '../../src/config.ts';
import type { Db } from '../../src/platform/db.ts';
import { migrate } from '../../src/platform/migrate.ts';
import { BENCH_USER_ID as userId, issueTokens, load, report, seedUsers, startBenchServer, tokenRequest, type LoadResult } from './harness.ts';

const USERS = 1_000;
const VIEWERS = 200;
const BLOCKED_FROM = 100;
const CONTACTS = 100;
const ONLINE = JSON.stringify({ type: 'mitter.up.Online', timeToLive: 0 });

/** The ten users viewer `v` reads the presence of. */
const targetsOf = (v: number) => Array.from({ length: 10 }, (_, k) => userId(VIEWERS + ((v * 7 + k * 53) % (USERS - VIEWERS))));
/** Viewer `v`'s contacts. */
const contactsOf = (v: number) => Array.from({ length: CONTACTS }, (_, k) => userId(VIEWERS + ((v * 11 + k * 7) % (USERS - VIEWERS))));

/** Contacts for every viewer; for blocked viewers, blocks by half of its contacts and half of its targets. */
async function seedRelations(db: Db, applicationId: string): Promise<void> {
  const at = db.dialect.time(new Date());
  const statements: Compilable[] = [];
  for (let v = 0; v < VIEWERS; v++) {
    const viewer = userId(v);
    const contacts = contactsOf(v);
    statements.push(db.query.insertInto('UserContact').values(contacts.map((contactId) => ({ applicationId, ownerId: viewer, contactId, createdAt: at }))));
    if (v >= BLOCKED_FROM) {
      const blockers = new Set([...contacts.filter((_, k) => k % 2 === 0), ...targetsOf(v).filter((_, k) => k % 2 === 0)]);
      statements.push(
        db.query.insertInto('UserBlock').values([...blockers].map((blockerId) => ({ applicationId, blockerId, blockedId: viewer, createdAt: at }))),
      );
    }
  }
  await db.batch(statements);
}

async function benchHttp(): Promise<LoadResult[]> {
  const userIds = Array.from({ length: USERS }, (_, i) => userId(i));
  const server = await startBenchServer(async (db, credentials) => {
    await seedUsers(db, credentials.applicationId, userIds);
    await seedRelations(db, credentials.applicationId);
  });
  try {
    const tokens = await issueTokens(server, userIds);
    for (const token of tokens) {
      const response = await fetch(`${server.url}/v1/users/me/presence`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-issued-mitter-user-authorization': token },
        body: ONLINE,
      });
      if (!response.ok) throw new Error(`setting presence: ${response.status}`);
    }
    /** Round-robin over viewers [from, from + 100). */
    const viewer = (from: number) => {
      let next = 0;
      return () => from + (next = (next + 1) % (VIEWERS - BLOCKED_FROM));
    };
    /** GETs `path(viewer)` with each viewer's own token, round-robin over viewers [from, from + 100). */
    const readsFrom = (from: number, path: (viewer: number) => string) => {
      const pick = viewer(from);
      let current = from;
      return tokenRequest(
        'GET',
        () => tokens[current] as string,
        true,
        () => {
          current = pick();
          return { path: path(current) };
        },
      );
    };
    const presenceRun = (from: number) => readsFrom(from, (v) => `/v1/users/${targetsOf(v).join(',')}/presence`);
    const contactsRun = (from: number) => readsFrom(from, () => '/v1/users/me/contacts?limit=100');
    await load(server, 'warm-up', { url: server.url, duration: 2, requests: [presenceRun(0), contactsRun(BLOCKED_FROM)] });
    const results = [
      await load(server, 'GET presence of 10, no blocks', { url: server.url, requests: [presenceRun(0)] }),
      await load(server, 'GET presence of 10, 5 block the reader', { url: server.url, requests: [presenceRun(BLOCKED_FROM)] }),
      await load(server, 'GET contacts (100), no blocks', { url: server.url, requests: [contactsRun(0)] }),
      await load(server, 'GET contacts (100), 50 block the reader', { url: server.url, requests: [contactsRun(BLOCKED_FROM)] }),
    ];
    report(results, [
      ['presence of 10: with blocks / without', results[1]!, results[0]!],
      ['contacts: with blocks / without', results[3]!, results[2]!],
    ]);
    return results;
  } finally {
    await server.stop();
  }
}

/** µs per call of `check`, warm, over ~1 s. */
async function microsPerCall(check: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 2_000; i++) await check();
  let calls = 0;
  const started = performance.now();
  while (performance.now() - started < 1_000) {
    for (let i = 0; i < 500; i++) await check();
    calls += 500;
  }
  return ((performance.now() - started) * 1000) / calls;
}

async function benchCheck(http: LoadResult[]): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'locus-bench-social-'));
  try {
    const config = loadConfig({ ...process.env, LOCUS_DATA_DIR: dataDir, LOG_LEVEL: 'warn' });
    await migrate(config);
    const app = await buildApp(config, { logger: false, watchApplications: false, presenceTimers: false, eventTimers: false });
    try {
      const { applicationId } = await app.locus.applications.create('bench-social');
      await seedUsers(
        app.locus.db,
        applicationId,
        Array.from({ length: USERS }, (_, i) => userId(i)),
      );
      await seedRelations(app.locus.db, applicationId);
      const as = (v: number): Principal => ({ kind: 'user', applicationId, userId: userId(v), via: 'token', tokenId: 'bench' });
      const rows: Array<{ check: string; microsPerCall: string; readMicros: number; share: string }> = [];
      const measure = async (label: string, v: number, ids: string[], read: LoadResult | undefined) => {
        const micros = await microsPerCall(() => app.locus.social.viewpoint(as(v), ids));
        const readMicros = read?.serverCpuMicrosPerRequest ?? Number.NaN;
        rows.push({ check: label, microsPerCall: micros.toFixed(2), readMicros, share: `${((100 * micros) / readMicros).toFixed(1)} %` });
      };
      await measure('viewpoint, 10 ids, no blocks', 0, targetsOf(0), http[0]);
      await measure('viewpoint, 10 ids, 5 block', BLOCKED_FROM, targetsOf(BLOCKED_FROM), http[1]);
      await measure('viewpoint, 100 contacts, no blocks', 0, contactsOf(0), http[2]);
      await measure('viewpoint, 100 contacts, 50 block', BLOCKED_FROM, contactsOf(BLOCKED_FROM), http[3]);
      console.table(rows);
    } finally {
      await app.close();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

export async function benchSocial(): Promise<void> {
  const http = await benchHttp();
  await benchCheck(http);
}
