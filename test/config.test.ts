import t from 'tap';
import { mkdtempSync, readFileSync, statSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig, parseMasterKey } from '../src/config.ts';

const tempDir = () => mkdtempSync(join(tmpdir(), 'locus-config-'));
const HEX_KEY = 'ab'.repeat(32);

function problems(env: NodeJS.ProcessEnv): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

t.test('embedded defaults', async (t) => {
  const dir = tempDir();
  const config = loadConfig({ LOCUS_DATA_DIR: dir });
  t.equal(config.host, '127.0.0.1');
  t.equal(config.port, 8080);
  t.equal(config.databaseProvider, 'sqlite');
  t.equal(config.databaseUrl, `file:${join(dir, 'locus.db')}`);
  t.equal(config.sqlitePath, join(dir, 'locus.db'));
  t.equal(config.publicUrl, 'http://127.0.0.1:8080');
  t.equal(config.logLevel, 'info');
  t.equal(config.masterKeySource, 'file');
  t.equal(config.masterKey.length, 32);
});

t.test('the master key is generated once, mode 0600, and reused', async (t) => {
  const dir = tempDir();
  const first = loadConfig({ LOCUS_DATA_DIR: dir });
  const path = join(dir, 'master.key');
  t.equal(statSync(path).mode & 0o777, 0o600);
  t.match(readFileSync(path, 'utf8'), /^[0-9a-f]{64}\n$/);
  const second = loadConfig({ LOCUS_DATA_DIR: dir });
  t.ok(first.masterKey.equals(second.masterKey), 'same key on the next start');
  chmodSync(path, 0o644);
  t.match(problems({ LOCUS_DATA_DIR: dir }), [/readable only by its owner/]);
});

t.test('explicit values', async (t) => {
  const config = loadConfig({
    HOST: '0.0.0.0',
    PORT: '9000',
    LOCUS_DATA_DIR: tempDir(),
    LOCUS_MASTER_KEY: HEX_KEY,
    LOCUS_PUBLIC_URL: 'https://locus.example.com/',
    LOG_LEVEL: 'WARN',
    DATABASE_URL: 'postgresql://locus:pw@db.internal:5432/locus',
  });
  t.equal(config.port, 9000);
  t.equal(config.databaseProvider, 'postgresql');
  t.equal(config.sqlitePath, null);
  t.equal(config.masterKeySource, 'env');
  t.ok(config.masterKey.equals(Buffer.from(HEX_KEY, 'hex')));
  t.equal(config.publicUrl, 'https://locus.example.com');
  t.equal(config.logLevel, 'warn');
});

t.test('master key formats', async (t) => {
  const bytes = Buffer.alloc(32, 0xfb);
  t.ok(parseMasterKey(bytes.toString('hex'))?.equals(bytes));
  t.ok(parseMasterKey(bytes.toString('base64'))?.equals(bytes));
  t.ok(parseMasterKey(bytes.toString('base64url'))?.equals(bytes));
  t.equal(parseMasterKey('abc'), null);
  t.equal(parseMasterKey(Buffer.alloc(31).toString('hex')), null);
  t.equal(parseMasterKey(Buffer.alloc(33).toString('base64')), null);
});

t.test('every invalid variable is reported, all at once', async (t) => {
  const found = problems({
    PORT: '70000',
    LOG_LEVEL: 'loud',
    LOCUS_PUBLIC_URL: 'ftp://x',
    LOCUS_MASTER_KEY: 'short',
    REDIS_URL: 'http://127.0.0.1:6379',
    LOCUS_DATA_DIR: tempDir(),
  });
  t.equal(found.length, 5);
  t.match(found.join('\n'), /PORT/);
  t.match(found.join('\n'), /LOG_LEVEL/);
  t.match(found.join('\n'), /LOCUS_PUBLIC_URL/);
  t.match(found.join('\n'), /LOCUS_MASTER_KEY/);
  t.match(found.join('\n'), /REDIS_URL/);
  t.match(problems({ DATABASE_URL: 'mysql://x', LOCUS_MASTER_KEY: HEX_KEY }), [/DATABASE_URL/]);
  t.match(problems({ DATABASE_URL: 'postgresql://localhost/locus' }), [/LOCUS_MASTER_KEY is required/]);
  t.match(problems({ PORT: '80a', LOCUS_DATA_DIR: tempDir() }), [/PORT/]);
});

t.test('REDIS_URL: for instances sharing PostgreSQL', async (t) => {
  const pg = { DATABASE_URL: 'postgresql://locus@127.0.0.1:5432/locus', LOCUS_MASTER_KEY: HEX_KEY };
  t.equal(loadConfig(pg).redisUrl, null, 'unset: in process');
  t.equal(loadConfig({ ...pg, REDIS_URL: 'redis://cache:6379/0' }).redisUrl, 'redis://cache:6379/0');
  t.match(problems({ REDIS_URL: 'redis://127.0.0.1:6379', LOCUS_DATA_DIR: tempDir() }), [/PostgreSQL/], 'not with SQLite');
  t.match(problems({ ...pg, REDIS_URL: 'cache:6379' }), [/redis:\/\//]);
  t.equal(loadConfig(pg).redisPrefix, 'locus');
  t.equal(loadConfig({ ...pg, LOCUS_REDIS_PREFIX: 'staging' }).redisPrefix, 'staging');
  t.match(problems({ ...pg, LOCUS_REDIS_PREFIX: 'a b' }), [/LOCUS_REDIS_PREFIX/]);
});

t.test('LOCUS_TRUSTED_PROXIES: addresses and ranges, or a hop count', async (t) => {
  const base = { LOCUS_DATA_DIR: tempDir() };
  t.equal(loadConfig(base).trustedProxies, null, 'unset: the socket address is the client');
  t.same(loadConfig({ ...base, LOCUS_TRUSTED_PROXIES: '10.0.0.0/8, 127.0.0.1,::1' }).trustedProxies, ['10.0.0.0/8', '127.0.0.1', '::1']);
  t.equal(loadConfig({ ...base, LOCUS_TRUSTED_PROXIES: '1' }).trustedProxies, 1);
  t.same(loadConfig({ ...base, LOCUS_TRUSTED_PROXIES: 'loopback' }).trustedProxies, ['loopback']);
  t.match(problems({ ...base, LOCUS_TRUSTED_PROXIES: 'proxy.example.com' }), [/LOCUS_TRUSTED_PROXIES/]);
});
