// Whether the servers some tests need (Redis; PostgreSQL for provider-specific tests) answer. A test
// that needs an unreachable one is skipped with a one-line reason, so `npm test` passes on a machine
// with only Node; with LOCUS_TEST_REQUIRE_SERVICES=1 (set by .ci/run) it fails instead, so CI runs
// everything.
import { connect } from 'node:net';

export const TEST_REDIS_URL = process.env.LOCUS_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
export const TEST_PG_URL = process.env.LOCUS_TEST_PG_URL ?? 'postgresql://postgres@127.0.0.1:5432/test';

const URLS = { redis: TEST_REDIS_URL, postgresql: TEST_PG_URL } as const;
const DEFAULT_PORTS = { redis: 6379, postgresql: 5432 } as const;
const probes = new Map<keyof typeof URLS, Promise<boolean>>();

function answers(url: URL, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: url.hostname, port, timeout: 1_000 });
    const done = (reachable: boolean) => {
      socket.destroy();
      resolve(reachable);
    };
    socket.once('connect', () => done(true));
    socket.once('timeout', () => done(false));
    socket.once('error', () => done(false));
  });
}

/**
 * The skip reason for a test that needs `service`, or false when it answers. Throws when it does
 * not answer and LOCUS_TEST_REQUIRE_SERVICES=1.
 */
export async function unlessReachable(service: keyof typeof URLS): Promise<string | false> {
  let probe = probes.get(service);
  if (probe === undefined) {
    const url = new URL(URLS[service]);
    probe = answers(url, Number(url.port || DEFAULT_PORTS[service]));
    probes.set(service, probe);
  }
  if (await probe) return false;
  const reason = `${service === 'redis' ? 'Redis' : 'PostgreSQL'} does not answer at ${new URL(URLS[service]).host}`;
  if (process.env.LOCUS_TEST_REQUIRE_SERVICES === '1') throw new Error(`${reason} (LOCUS_TEST_REQUIRE_SERVICES=1: every test must run)`);
  return reason;
}
