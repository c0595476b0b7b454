// A fresh database per test app: a SQLite file in a temporary directory, or (LOCUS_TEST_DB=postgresql)
// a new PostgreSQL database on the machine's server, dropped afterwards.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { loadConfig, type Config, type DatabaseProvider } from '../../src/config.ts';
import { TEST_PG_URL } from './services.ts';

export const testProvider: DatabaseProvider = process.env.LOCUS_TEST_DB === 'postgresql' ? 'postgresql' : 'sqlite';
const adminUrl = TEST_PG_URL;
export const TEST_MASTER_KEY = '00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff';

export interface TestDatabase {
  env: NodeJS.ProcessEnv;
  config: Config;
  dataDir: string;
  drop(): Promise<void>;
}

async function adminQuery(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** Creates an empty database; `provider` overrides the suite's provider for provider-specific tests. */
export async function createTestDatabase(provider: DatabaseProvider = testProvider): Promise<TestDatabase> {
  const dataDir = mkdtempSync(join(tmpdir(), 'locus-test-'));
  const env: NodeJS.ProcessEnv = { LOCUS_DATA_DIR: dataDir, LOG_LEVEL: 'silent' };
  let dropDatabase = async () => {};
  if (provider === 'postgresql') {
    const name = `locus_t_${randomBytes(6).toString('hex')}`;
    await adminQuery(`CREATE DATABASE ${name}`);
    const url = new URL(adminUrl);
    url.pathname = `/${name}`;
    env.DATABASE_URL = url.toString();
    env.LOCUS_MASTER_KEY = TEST_MASTER_KEY;
    dropDatabase = () => adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  }
  return {
    env,
    config: loadConfig(env),
    dataDir,
    async drop() {
      await dropDatabase();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
