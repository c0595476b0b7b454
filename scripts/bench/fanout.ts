// `npm run bench -- fanout`: 5,000 concurrent SSE subscribers on one instance, each a user with its
// own token on `GET /v1/users/me/events?presenceOf=<the watched user>`. `.system` sets the watched
// user's presence ROUNDS times; for every round, the time from just before the POST is sent until
// the event arrives at each subscriber is recorded. Reports p50/p99/max over every delivery, that
// every subscriber got every event once, and the server's resident memory per subscriber.
//
// The subscribers run in this process and the server in a child process, on the same 2 cores: the
// clients' own parsing competes with the server, so the figures are an upper bound.
import { request, type ClientRequest, type IncomingMessage } from 'node:http';
import { performance } from 'node:perf_hooks';
import { issueTokens, seedUsers, signedHeaders, startBenchServer } from './harness.ts';

const SUBSCRIBERS = Number(process.env.BENCH_SUBSCRIBERS ?? 5_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 20);
const ROUND_GAP_MS = 500;
const OPEN_BATCH = 250;
const WATCHED = 'bench-watched-0001';
const subscriberId = (i: number) => `bench-sub-${String(i).padStart(6, '0')}`;

interface Subscriber {
  request: ClientRequest;
  response: IncomingMessage | null;
  received: number;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

export async function benchFanout(): Promise<void> {
  const ids = Array.from({ length: SUBSCRIBERS }, (_, i) => subscriberId(i));
  const server = await startBenchServer((db, credentials) => seedUsers(db, credentials.applicationId, [WATCHED, ...ids]));
  const subscribers: Subscriber[] = [];
  try {
    console.log(`issuing ${SUBSCRIBERS} tokens…`);
    const tokens = await issueTokens(server, ids);
    const { hostname, port } = new URL(server.url);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const rssBefore = server.rssBytes();

    // Arrival times of the current round's event, per subscriber.
    let roundStart = 0;
    let latencies: number[] = [];
    const open = (token: string) =>
      new Promise<Subscriber>((resolve, reject) => {
        const subscriber: Subscriber = { request: null as unknown as ClientRequest, response: null, received: 0 };
        subscriber.request = request(
          {
            hostname,
            port,
            path: `/v1/users/me/events?presenceOf=${WATCHED}`,
            headers: { accept: 'text/event-stream', 'x-issued-mitter-user-authorization': token },
            agent: false,
          },
          (response) => {
            if (response.statusCode !== 200) {
              reject(new Error(`stream refused: ${response.statusCode}`));
              return;
            }
            subscriber.response = response;
            response.setEncoding('utf8');
            response.on('data', (chunk: string) => {
              // One small event per round: count the event lines in what arrived.
              for (let at = chunk.indexOf('event: presence'); at !== -1; at = chunk.indexOf('event: presence', at + 1)) {
                subscriber.received += 1;
                latencies.push(performance.now() - roundStart);
              }
            });
            resolve(subscriber);
          },
        );
        subscriber.request.on('error', reject);
        subscriber.request.end();
      });

    console.log(`opening ${SUBSCRIBERS} streams…`);
    for (let start = 0; start < tokens.length; start += OPEN_BATCH) {
      subscribers.push(...(await Promise.all(tokens.slice(start, start + OPEN_BATCH).map(open))));
    }
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const rssAfter = server.rssBytes();

    const all: number[] = [];
    const roundP99: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      latencies = [];
      const path = `/v1/users/${WATCHED}/presence`;
      const body = JSON.stringify({ type: round % 2 === 0 ? 'mitter.up.Online' : 'mitter.up.Away', timeToLive: 0 });
      const headers = signedHeaders(server.credentials, 'POST', path, body);
      roundStart = performance.now();
      const response = await fetch(`${server.url}${path}`, { method: 'POST', headers, body });
      if (!response.ok) throw new Error(`presence POST: ${response.status}`);
      const deadline = performance.now() + 10_000;
      while (latencies.length < SUBSCRIBERS && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
      const sorted = [...latencies].sort((a, b) => a - b);
      roundP99.push(percentile(sorted, 99));
      all.push(...latencies);
      await new Promise((resolve) => setTimeout(resolve, ROUND_GAP_MS));
    }

    const sorted = all.sort((a, b) => a - b);
    const complete = subscribers.filter((s) => s.received === ROUNDS).length;
    console.log('');
    console.log(`fan-out: ${SUBSCRIBERS} SSE subscribers watching one user, ${ROUNDS} presence changes`);
    console.log(`  deliveries: ${all.length} of ${SUBSCRIBERS * ROUNDS}; subscribers with every event exactly once: ${complete}`);
    console.log(
      `  POST → delivery: p50 ${percentile(sorted, 50).toFixed(1)} ms, p99 ${percentile(sorted, 99).toFixed(1)} ms, max ${(sorted.at(-1) ?? Number.NaN).toFixed(1)} ms (target p99 ≤ 250 ms)`,
    );
    console.log(`  per-round p99: ${roundP99.map((v) => v.toFixed(0)).join(' ')} ms`);
    console.log(
      `  server RSS: ${mib(rssBefore)} before the streams, ${mib(rssAfter)} with them: ${((rssAfter - rssBefore) / SUBSCRIBERS / 1024).toFixed(1)} KiB per subscriber`,
    );
  } finally {
    for (const subscriber of subscribers) subscriber.request.destroy();
    await server.stop();
  }
}
