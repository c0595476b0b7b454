// Shared benchmark plumbing: a throwaway data dir with one application, a Locus server in a child
// process (so the load generator and its signing do not share the server's event loop), autocannon.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import autocannon from 'autocannon';
import type { Compilable } from 'kysely';
import { signRequestHeaders } from '../../src/auth/signature.ts';
import { hmacSha1Key } from '../../src/platform/crypto.ts';
import { loadConfig } from '../../src/config.ts';
import { createDb } from '../../src/platform/db.ts';
import { migrate } from '../../src/platform/migrate.ts';
import { systemClock } from '../../src/platform/clock.ts';
import { projectRoot } from '../../src/platform/paths.ts';
import { ApplicationsService, type Credentials } from '../../src/modules/applications/service.ts';
import { createApplicationsStore } from '../../src/modules/applications/store.ts';
import type { Db } from '../../src/platform/db.ts';

export interface BenchServer {
  url: string;
  /** The server's process (under BENCH_CALLGRIND, valgrind running it). */
  pid: number;
  /** The server's environment (its data directory, database and Redis URLs). */
  env: NodeJS.ProcessEnv;
  credentials: Credentials;
  /** CPU seconds the server process has used so far (user + system), from /proc. */
  cpuSeconds(): number;
  /** The server process's resident memory now, in bytes, from /proc. */
  rssBytes(): number;
  stop(): Promise<void>;
}

const CLOCK_TICKS_PER_SECOND = 100;

/**
 * BENCH_CALLGRIND=1: every bench server runs under valgrind's callgrind with counting switched off;
 * each measured run switches it on for its own requests, and the report adds the instructions the
 * server executed per request (user space, all its threads: JavaScript, V8's compilers and garbage
 * collectors, OpenSSL, SQLite). The count repeats where time on a shared virtual machine does not;
 * the kernel's work (sockets, scheduling) is not in it. Timings under valgrind mean nothing.
 */
const callgrindDir = process.env.BENCH_CALLGRIND === '1' ? mkdtempSync(join(tmpdir(), 'locus-callgrind-')) : null;
if (callgrindDir !== null) process.on('exit', () => rmSync(callgrindDir, { recursive: true, force: true }));
const CALLGRIND = ['valgrind', '--tool=callgrind', '--quiet', '--instr-atstart=no', '--smc-check=all-non-file'];

/** Runs `measured` with callgrind counting in the server, and returns its result and the instructions counted. */
async function countingInstructions<T>(server: BenchServer, measured: () => Promise<T>): Promise<[T, number | null]> {
  if (callgrindDir === null) return [await measured(), null];
  const control = (command: string) => execFileSync('callgrind_control', [command, String(server.pid)], { stdio: 'ignore' });
  control('--instr=on');
  let result: T;
  try {
    result = await measured();
  } finally {
    control('--instr=off');
  }
  const earlier = new Set(readdirSync(callgrindDir));
  control('--dump');
  const dump = readdirSync(callgrindDir).find((file) => !earlier.has(file) && file.startsWith(`callgrind.${server.pid}.`));
  if (dump === undefined) throw new Error(`callgrind wrote no dump for ${server.pid}`);
  const path = join(callgrindDir, dump);
  const totals = /^totals: (\d+)/m.exec(readFileSync(path, 'utf8'));
  rmSync(path);
  if (!totals) throw new Error(`no totals in ${path}`);
  return [result, Number(totals[1])];
}

function processCpuSeconds(pid: number): number {
  // Fields 14 and 15 of /proc/<pid>/stat (utime, stime), in clock ticks; the command name may hold spaces.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
}

function processRssBytes(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) * 1024 : Number.NaN;
}

/**
 * The application budgets off: a bench measures what a request costs, and the default budget of an
 * application (2,000 signed requests a second) is below what this machine serves, so its 429s
 * would be measured instead (their cost is `npm run bench -- ratelimits`, which sets its own).
 */
export const NO_RATE_LIMITS = ['rateLimitApp=0', 'rateLimitUser=0'];

/**
 * `seed` fills the database before the server starts (it runs against the same database); the
 * application starts with NO_RATE_LIMITS. `env` adds to the server's environment (DATABASE_URL,
 * REDIS_URL… for the scale bench).
 */
export async function startBenchServer(
  seed?: (db: Db, credentials: Credentials, applications: ApplicationsService) => Promise<void>,
  options: { env?: Record<string, string> } = {},
): Promise<BenchServer> {
  return onThrowawayDataDir(options.env, async (env) => {
    const config = loadConfig(env);
    await migrate(config);
    const db = createDb(config);
    const applications = new ApplicationsService({ store: createApplicationsStore(db), masterKey: config.masterKey, clock: systemClock });
    const credentials = await applications.create('bench');
    await applications.updateSettings(credentials.applicationId, NO_RATE_LIMITS);
    if (seed) await seed(db, credentials, applications);
    await db.close();
    return spawnBenchServer(env, credentials);
  });
}

/** The server `start` runs on a throwaway data dir (plus `extra` environment); the dir goes when it stops. */
async function onThrowawayDataDir(extra: Record<string, string> | undefined, start: (env: NodeJS.ProcessEnv) => Promise<BenchServer>): Promise<BenchServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'locus-bench-'));
  const removeDataDir = () => rmSync(dataDir, { recursive: true, force: true });
  let server: BenchServer;
  try {
    server = await start({ ...process.env, LOCUS_DATA_DIR: dataDir, LOG_LEVEL: 'warn', PORT: '0', ...extra });
  } catch (error) {
    removeDataDir();
    throw error;
  }
  return {
    ...server,
    async stop() {
      await server.stop();
      removeDataDir();
    },
  };
}

/**
 * The bench server of another checkout of Locus (`root`: an earlier commit, say), on a throwaway
 * data dir, or on the database `env` names: migrated and given an application through that
 * checkout's own CLI (`npm run locus -- migrate`, `app create`), so its schema is its own. The
 * checkout needs this bench's `scripts/bench/server.ts`, adapted to it where it must be. `settings`
 * are applied with `app settings` where that checkout knows them (05c7d4b had no rate limits).
 */
export async function startBenchServerAt(root: string, options: { env?: Record<string, string>; settings?: string[] } = {}): Promise<BenchServer> {
  return onThrowawayDataDir(options.env, async (env) => {
    const cli = (args: string[]) =>
      execFileSync(process.execPath, ['--import', 'tsx', join(root, 'scripts', 'locus.ts'), ...args], {
        cwd: root,
        env,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    cli(['migrate']);
    const credentials = JSON.parse(cli(['app', 'create', '--name', 'bench', '--json'])) as Credentials;
    if (options.settings?.length) {
      try {
        cli(['app', 'settings', credentials.applicationId, ...options.settings]);
      } catch (error) {
        const refusal = String((error as { stderr?: unknown }).stderr ?? error)
          .trim()
          .split('\n')[0];
        console.log(`${root}: settings ${options.settings.join(' ')} not applied (${refusal})`);
      }
    }
    return spawnBenchServer(env, credentials, root);
  });
}

/** Another server process on the environment of a first one (a second instance of the same deployment); `root`: whose server. */
export async function spawnBenchServer(env: NodeJS.ProcessEnv, credentials: Credentials, root = projectRoot): Promise<BenchServer> {
  // BENCH_PIN=1: the server on CPU 0 and this process (the load generator) on CPU 1, so neither
  // takes the other's core and runs vary less. taskset, and valgrind under BENCH_CALLGRIND, run the
  // server in their own process: the pid stays the server's.
  const pinned = process.env.BENCH_PIN === '1';
  if (pinned) execFileSync('taskset', ['-p', '-c', '1', String(process.pid)], { stdio: 'ignore' });
  const command = [
    ...(pinned ? ['taskset', '-c', '0'] : []),
    ...(callgrindDir === null ? [] : [...CALLGRIND, `--callgrind-out-file=${join(callgrindDir, 'callgrind.%p')}`]),
    process.execPath,
    ...(process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : []),
    '--import',
    'tsx',
    join(root, 'scripts', 'bench', 'server.ts'),
  ];
  const child: ChildProcess = spawn(command[0] as string, command.slice(1), {
    cwd: root,
    env: { ...env, BENCH_APPLICATION_ID: credentials.applicationId, BENCH_APPLICATION_NAME: credentials.name },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`bench server exited with ${code}`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const match = /^READY (\d+)$/.exec(line);
      if (match) resolve(Number(match[1]));
    });
  });
  return {
    url: `http://127.0.0.1:${port}`,
    pid: child.pid as number,
    env,
    credentials,
    cpuSeconds: () => processCpuSeconds(child.pid as number),
    rssBytes: () => processRssBytes(child.pid as number),
    async stop() {
      child.removeAllListeners('exit');
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    },
  };
}

export interface LoadResult {
  name: string;
  requestsPerSecond: number;
  /** Share of one core the server used during the run: near 100 % means the server was the bottleneck. */
  serverCpuPercent: number;
  /** Server CPU time per request: the cost that does not depend on who saturates first. */
  serverCpuMicrosPerRequest: number;
  /**
   * This process's CPU time per request: the load generator (autocannon and the signing). Unpinned
   * it shares the two cores with the server, so a cheaper server meets more of it.
   */
  clientCpuMicrosPerRequest: number;
  p50Ms: number;
  p99Ms: number;
  non2xx: number;
  errors: number;
  /** Under BENCH_CALLGRIND: the server's instructions per request (see countingInstructions). */
  instructionsPerRequest?: number;
}

export async function load(server: BenchServer, name: string, options: autocannon.Options): Promise<LoadResult> {
  const cpuBefore = server.cpuSeconds();
  const clientBefore = process.cpuUsage();
  const [result, instructions] = await countingInstructions(server, () =>
    autocannon({ connections: 20, duration: Number(process.env.BENCH_SECONDS ?? 10), ...options }),
  );
  const cpuUsed = server.cpuSeconds() - cpuBefore;
  const client = process.cpuUsage(clientBefore);
  return {
    name,
    requestsPerSecond: Math.round(result.requests.average),
    serverCpuPercent: Math.round((100 * cpuUsed) / (result.duration || 1)),
    serverCpuMicrosPerRequest: Math.round((1e6 * cpuUsed) / Math.max(1, result.requests.total)),
    clientCpuMicrosPerRequest: Math.round((client.user + client.system) / Math.max(1, result.requests.total)),
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
    ...(instructions === null ? {} : { instructionsPerRequest: Math.round(instructions / Math.max(1, result.requests.total)) }),
  };
}

/** Under BENCH_CALLGRIND: how many times fewer instructions a request of `numerator` took than one of `denominator` (null without counts). */
export function instructionsRatio(numerator: LoadResult, denominator: LoadResult): number | null {
  if (numerator.instructionsPerRequest === undefined || denominator.instructionsPerRequest === undefined) return null;
  return denominator.instructionsPerRequest / Math.max(1, numerator.instructionsPerRequest);
}

export function report(results: LoadResult[], ratios: Array<[string, LoadResult, LoadResult]>): void {
  console.table(results);
  for (const [label, numerator, denominator] of ratios) {
    const throughput = (100 * numerator.requestsPerSecond) / denominator.requestsPerSecond;
    const cost = (100 * denominator.serverCpuMicrosPerRequest) / Math.max(1, numerator.serverCpuMicrosPerRequest);
    const byCount = instructionsRatio(numerator, denominator);
    const instructions = byCount === null ? '' : `; ${(100 * byCount).toFixed(1)} % by instructions per request`;
    console.log(`${label}: ${throughput.toFixed(1)} % of the req/s; ${cost.toFixed(1)} % by server CPU per request${instructions}`);
  }
  if (results.some((r) => r.non2xx > 0 || r.errors > 0)) {
    console.error('Some requests failed: the figures above are not valid.');
    process.exitCode = 1;
  }
}

function mean(runs: LoadResult[]): LoadResult {
  const avg = (pick: (r: LoadResult) => number) => Math.round(runs.reduce((sum, r) => sum + pick(r), 0) / runs.length);
  const sum = (pick: (r: LoadResult) => number) => runs.reduce((total, r) => total + pick(r), 0);
  return {
    name: (runs[0] as LoadResult).name,
    requestsPerSecond: avg((r) => r.requestsPerSecond),
    serverCpuPercent: avg((r) => r.serverCpuPercent),
    serverCpuMicrosPerRequest: avg((r) => r.serverCpuMicrosPerRequest),
    clientCpuMicrosPerRequest: avg((r) => r.clientCpuMicrosPerRequest),
    p50Ms: avg((r) => r.p50Ms),
    p99Ms: avg((r) => r.p99Ms),
    non2xx: sum((r) => r.non2xx),
    errors: sum((r) => r.errors),
    ...(runs.every((r) => r.instructionsPerRequest !== undefined) ? { instructionsPerRequest: avg((r) => r.instructionsPerRequest as number) } : {}),
  };
}

/**
 * Runs A, B, B, A (`rounds` times, default BENCH_ROUNDS or 1) and reports each side as the mean of
 * its runs, so that drift during the benchmark (heap growth, caches, the load generator sharing the
 * machine) weighs on both alike. With more than one round it also prints each round's B/A ratio:
 * their spread is the noise the mean has to be read against.
 */
export async function loadAbba(
  /** One server, or one per side (the same route on two builds). */
  server: BenchServer | readonly [BenchServer, BenchServer],
  a: [string, autocannon.Options],
  b: [string, autocannon.Options],
  rounds = Number(process.env.BENCH_ROUNDS ?? 1),
  /** Called before a run whose side differs from the previous run's (to reconfigure the server). */
  switchTo?: (side: 'a' | 'b') => Promise<void>,
): Promise<[LoadResult, LoadResult]> {
  const aRuns: LoadResult[] = [];
  const bRuns: LoadResult[] = [];
  const ratios: number[] = [];
  let current: 'a' | 'b' | null = null;
  const run = async (side: 'a' | 'b') => {
    if (switchTo !== undefined && side !== current) await switchTo(side);
    current = side;
    const [name, options] = side === 'a' ? a : b;
    const target = 'url' in server ? server : server[side === 'a' ? 0 : 1];
    return load(target, name, options);
  };
  for (let round = 0; round < rounds; round++) {
    const a1 = await run('a');
    const b1 = await run('b');
    const b2 = await run('b');
    const a2 = await run('a');
    aRuns.push(a1, a2);
    bRuns.push(b1, b2);
    ratios.push((100 * (b1.requestsPerSecond + b2.requestsPerSecond)) / (a1.requestsPerSecond + a2.requestsPerSecond));
  }
  if (rounds > 1) {
    const sorted = [...ratios].sort((x, y) => x - y);
    const median = sorted[Math.floor(sorted.length / 2)] as number;
    console.log(`${b[0]} / ${a[0]}, req/s by round: ${ratios.map((r) => `${r.toFixed(1)} %`).join(', ')} (median ${median.toFixed(1)} %)`);
  }
  return [mean(aRuns), mean(bRuns)];
}

type SigningCredentials = Pick<Credentials, 'accessKey' | 'accessSecret'>;

/** Headers of a request signed as a client signs it: a fresh Date and Nonce on every call. */
export function signedHeaders(credentials: SigningCredentials, method: string, path: string, body?: string): Record<string, string> {
  return signRequestHeaders({
    method,
    path,
    ...(body === undefined ? {} : { body, contentType: 'application/json' }),
    accessKey: credentials.accessKey,
    accessSecret: credentials.accessSecret,
    date: new Date().toUTCString(),
    nonce: randomBytes(16).toString('hex'),
  });
}

/**
 * A GET whose path is chosen per request and signed; or, for the bare side (`signed` false), the
 * same signed headers under names the server ignores, so both sides send the same bytes and the
 * client does the same work. Signed by signRequestHeaders as a client library that signs many
 * requests would: the HMAC key prepared once, the Date header written once a second, each nonce a
 * random prefix and a counter (unique, which is all the server asks of it). Per request that is
 * one HMAC and a few strings: the load generator shares this machine's
 * two cores with the server, and what it spends on signing the server does not get
 * (docs/benchmarks.md).
 */
export function signedGet(credentials: SigningCredentials, path: () => string, signed: boolean): autocannon.Request {
  const accessSecret = hmacSha1Key(Buffer.from(credentials.accessSecret, 'base64'));
  const noncePrefix = randomBytes(8).toString('hex');
  const prefix = signed ? '' : 'x-unverified-';
  let sequence = 0;
  let second = -1;
  let date = '';
  return {
    method: 'GET',
    setupRequest: (request: autocannon.Request) => {
      const full = path();
      const now = Math.floor(Date.now() / 1000);
      if (now !== second) {
        second = now;
        date = new Date(now * 1000).toUTCString();
      }
      const query = full.indexOf('?');
      const headers = signRequestHeaders({
        method: 'GET',
        path: query === -1 ? full : full.slice(0, query),
        accessKey: credentials.accessKey,
        accessSecret,
        date,
        nonce: `${noncePrefix}${(sequence += 1).toString(36)}`,
      });
      // Both sides copy the headers (under their names, or renamed), so both do the same work.
      const sent: Record<string, string> = {};
      for (const [name, value] of Object.entries(headers)) sent[prefix + name] = value;
      return { ...request, path: full, headers: sent };
    },
  };
}

/** Issues one token per user through the API (a signed POST each) and returns the signed tokens. */
export async function issueTokens(server: BenchServer, userIds: string[], credentials: SigningCredentials = server.credentials): Promise<string[]> {
  const tokens: string[] = [];
  for (const userId of userIds) {
    const path = `/v1/users/${userId}/tokens`;
    const response = await fetch(`${server.url}${path}`, { method: 'POST', headers: signedHeaders(credentials, 'POST', path, '{}'), body: '{}' });
    if (!response.ok) throw new Error(`issuing a token: ${response.status} ${await response.text()}`);
    tokens.push(((await response.json()) as { userToken: { signedToken: string } }).userToken.signedToken);
  }
  return tokens;
}

/** Seeded user ids of the presence and scale benches. */
export const BENCH_USER_ID = (i: number) => `bench-user-${String(i).padStart(6, '0')}`;

/** Online for 10 s, then Away for 20 s, then Offline: the presence the HTTP benches set. */
export const PRESENCE_CHAIN = JSON.stringify({
  type: 'mitter.up.Online',
  timeToLive: 10,
  expiresTo: { type: 'mitter.up.Away', timeToLive: 20, expiresTo: { type: 'mitter.up.Offline', timeToLive: 0 } },
});

const USER_TOKEN_HEADER = 'x-issued-mitter-user-authorization';

/**
 * A request presenting a user token (`token()` picks one per request); the bare side
 * (`authenticated` false) carries it under a header the server ignores. `build` gives the path,
 * and a JSON body and extra headers when the request has them.
 */
export function tokenRequest(
  method: 'GET' | 'POST',
  token: () => string,
  authenticated: boolean,
  build: () => { path: string; body?: string; headers?: Record<string, string> },
): autocannon.Request {
  return {
    method,
    setupRequest: (request: autocannon.Request) => {
      const { path, body, headers } = build();
      return {
        ...request,
        path,
        ...(body === undefined ? {} : { body }),
        headers: {
          ...headers,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          [authenticated ? USER_TOKEN_HEADER : `x-unverified-${USER_TOKEN_HEADER}`]: token(),
        },
      };
    },
  };
}

/** The screen name of seeded user i in the users and profiles benches. */
export const benchScreenName = (i: number): string => `Bench ${i}`;

/**
 * Users inserted directly (before the server starts), 1,000 to a transaction: an id and a screen
 * name (the id unless `screenName` says), and the rows `extra` gives for each (locators, a profile).
 */
export async function seedUsers(
  db: Db,
  applicationId: string,
  userIds: string[],
  options: { screenName?: (i: number) => string; extra?: (i: number, internalId: string, now: Date | string) => Compilable[] } = {},
): Promise<void> {
  const now = db.dialect.time(new Date());
  for (let start = 0; start < userIds.length; start += 1_000) {
    const statements = userIds.slice(start, start + 1_000).flatMap((userId, k) => {
      const i = start + k;
      const id = randomUUID();
      const screenName = options.screenName?.(i) ?? userId;
      return [
        db.query.insertInto('User').values({ id, applicationId, userId, screenName, createdAt: now, updatedAt: now }),
        ...(options.extra?.(i, id, now) ?? []),
      ];
    });
    await db.batch(statements);
  }
}
