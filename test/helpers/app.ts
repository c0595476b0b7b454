// Builds a Locus app on a fresh database with one application, plus a client that signs requests
// the way the mitter.io SDK does. Each test gets its own app; teardown drops everything.
import { randomBytes } from 'node:crypto';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { buildApp, type BuildOptions } from '../../src/app.ts';
import { signRequestHeaders } from '../../src/auth/signature.ts';
import type { Credentials } from '../../src/modules/applications/service.ts';
import { ManualClock } from './clock.ts';
import { createTestDatabase, testProvider, type TestDatabase } from './db.ts';
import { testRedis } from './redis.ts';

interface Teardown {
  teardown(fn: () => unknown): void;
}

export interface SignedRequestOptions {
  body?: string | Buffer;
  contentType?: string | null;
  headers?: Record<string, string>;
  /** Path to sign when it differs from the one sent (to test path handling). */
  signPath?: string;
  /** Query string sent but not signed, as the SDK does. */
  query?: string;
  date?: string;
  nonce?: string;
  credentials?: Pick<Credentials, 'accessKey' | 'accessSecret'>;
}

export interface TestApp {
  app: FastifyInstance;
  clock: ManualClock;
  database: TestDatabase;
  credentials: Credentials;
  signedHeaders(method: string, path: string, options?: SignedRequestOptions): Record<string, string>;
  signed(method: string, path: string, options?: SignedRequestOptions): Promise<LightMyRequestResponse>;
}

export const newNonce = (): string => randomBytes(16).toString('hex');

export async function buildTestApp(t: Teardown, options: BuildOptions & { database?: TestDatabase } = {}): Promise<TestApp> {
  const clock = (options.clock as ManualClock | undefined) ?? new ManualClock();
  const database = options.database ?? (await createTestDatabase());
  // On PostgreSQL the suite runs as a scaled-out instance would: kv, bus and transitions on Redis.
  const redis = testProvider === 'postgresql' && !options.redis && !options.kv && !options.bus ? testRedis() : null;
  const app = await buildApp(database.config, { logger: false, watchApplications: false, eventTimers: false, ...(redis ? { redis } : {}), ...options, clock });
  t.teardown(async () => {
    await app.close();
    if (redis) await redis.drop();
    if (!options.database) await database.drop();
  });
  const credentials = await app.locus.applications.create('test-app');

  const signedHeaders = (method: string, path: string, o: SignedRequestOptions = {}) => {
    const contentType = o.contentType === undefined ? (o.body !== undefined ? 'application/json' : null) : o.contentType;
    const creds = o.credentials ?? credentials;
    return {
      ...signRequestHeaders({
        method,
        path: o.signPath ?? path,
        body: o.body,
        contentType,
        accessKey: creds.accessKey,
        accessSecret: creds.accessSecret,
        date: o.date ?? new Date(clock.now()).toUTCString(),
        nonce: o.nonce ?? newNonce(),
      }),
      ...o.headers,
    };
  };

  return {
    app,
    clock,
    database,
    credentials,
    signedHeaders,
    signed: (method, path, o = {}) =>
      app.inject({
        method: method as 'GET',
        url: o.query ? `${path}?${o.query}` : path,
        headers: signedHeaders(method, path, o),
        ...(o.body !== undefined ? { payload: o.body } : {}),
      }),
  };
}
