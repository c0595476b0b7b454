// Every environment variable Locus reads, typed, defaulted for the embedded mode and validated once.
import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { isAbsolute, join, resolve } from 'node:path';
import { preparePrivateDirectory } from './platform/paths.ts';

export type DatabaseProvider = 'sqlite' | 'postgresql';
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface Config {
  host: string;
  port: number;
  databaseUrl: string;
  databaseProvider: DatabaseProvider;
  /** Absolute path of the SQLite file when the provider is SQLite. */
  sqlitePath: string | null;
  dataDir: string;
  masterKey: Buffer;
  /** Where the master key came from: the environment, or the file generated in the data dir. */
  masterKeySource: 'env' | 'file';
  publicUrl: string;
  logLevel: LogLevel;
  /** Shared state for several instances (kv, bus, transition queue); null: in process. */
  redisUrl: string | null;
  /** Prefix of every Redis key and channel (deployments sharing one Redis need different ones). */
  redisPrefix: string;
  /**
   * The proxies whose X-Forwarded-For is believed (addresses and CIDR ranges), or how many hops
   * to trust; null: the socket's address is the client's.
   */
  trustedProxies: string[] | number | null;
  /** The bearer token `/metrics` asks for (LOCUS_METRICS_TOKEN); null: the metrics are open. */
  metricsToken: string | null;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
export const MASTER_KEY_FILE = 'master.key';

/** Parses `LOCUS_MASTER_KEY`: 32 bytes as 64 hex characters, or as base64 (standard or URL-safe). */
export function parseMasterKey(text: string): Buffer | null {
  const trimmed = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(trimmed)) return Buffer.from(trimmed, 'hex');
  if (/^[A-Za-z0-9+/_-]{43}=?$/.test(trimmed)) {
    const bytes = Buffer.from(trimmed.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
    if (bytes.length === 32) return bytes;
  }
  return null;
}

function databaseProviderOf(url: string): DatabaseProvider | null {
  if (url.startsWith('file:')) return 'sqlite';
  if (/^postgres(ql)?:\/\//.test(url)) return 'postgresql';
  return null;
}

/**
 * Reads the generated master key, or creates it (once, mode 0600). A key file readable by anyone
 * but its owner is refused: it protects every access secret in the database.
 */
function loadOrCreateMasterKeyFile(dataDir: string, problems: string[]): Buffer | null {
  const path = join(dataDir, MASTER_KEY_FILE);
  preparePrivateDirectory(dataDir);
  try {
    writeFileSync(path, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
    chmodSync(path, 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  if ((statSync(path).mode & 0o077) !== 0) {
    problems.push(`${path} must be readable only by its owner (chmod 600 ${path})`);
    return null;
  }
  const key = parseMasterKey(readFileSync(path, 'utf8'));
  if (!key) problems.push(`${path} does not hold a 32-byte key as 64 hex characters`);
  return key;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const problems: string[] = [];
  const text = (name: string): string | undefined => {
    const value = env[name];
    return value === undefined || value.trim() === '' ? undefined : value.trim();
  };

  const host = text('HOST') ?? '127.0.0.1';

  let port = 8080;
  const portText = text('PORT');
  if (portText !== undefined) {
    if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65535) {
      problems.push(`PORT must be an integer from 0 to 65535, got "${portText}"`);
    } else {
      port = Number(portText);
    }
  }

  const dataDir = resolve(text('LOCUS_DATA_DIR') ?? './data');
  const databaseUrl = text('DATABASE_URL') ?? `file:${join(dataDir, 'locus.db')}`;
  const databaseProvider = databaseProviderOf(databaseUrl);
  if (!databaseProvider) {
    problems.push('DATABASE_URL must start with file: (SQLite) or postgresql:// (PostgreSQL)');
  }
  let sqlitePath: string | null = null;
  if (databaseProvider === 'sqlite') {
    const path = databaseUrl.slice('file:'.length).split('?')[0] ?? '';
    if (path === '') problems.push('DATABASE_URL=file: needs a path, e.g. file:./data/locus.db');
    sqlitePath = isAbsolute(path) ? path : resolve(path);
  } else if (databaseProvider === 'postgresql') {
    try {
      new URL(databaseUrl);
    } catch {
      problems.push('DATABASE_URL is not a valid postgresql:// URL');
    }
  }

  const redisUrl = text('REDIS_URL') ?? null;
  const redisPrefix = text('LOCUS_REDIS_PREFIX') ?? 'locus';
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(redisPrefix)) problems.push('LOCUS_REDIS_PREFIX must be 1–64 letters, digits, ".", "_" or "-"');
  if (redisUrl !== null) {
    if (!/^rediss?:\/\//.test(redisUrl)) problems.push('REDIS_URL must be a redis:// or rediss:// URL');
    else if (databaseProvider === 'sqlite')
      problems.push('REDIS_URL is for instances sharing PostgreSQL: set DATABASE_URL=postgresql://… too (SQLite is one process)');
  }

  let masterKey: Buffer | null = null;
  let masterKeySource: Config['masterKeySource'] = 'env';
  const masterKeyText = text('LOCUS_MASTER_KEY');
  if (masterKeyText !== undefined) {
    masterKey = parseMasterKey(masterKeyText);
    if (!masterKey) problems.push('LOCUS_MASTER_KEY must be 32 bytes as 64 hex characters or as base64');
  } else if (databaseProvider === 'postgresql') {
    problems.push('LOCUS_MASTER_KEY is required when DATABASE_URL is PostgreSQL (every instance must share it)');
  } else if (databaseProvider === 'sqlite') {
    masterKey = loadOrCreateMasterKeyFile(dataDir, problems);
    masterKeySource = 'file';
  }

  const publicUrlText = text('LOCUS_PUBLIC_URL') ?? `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  let publicUrl = publicUrlText;
  try {
    const url = new URL(publicUrlText);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('scheme');
    publicUrl = url.toString().replace(/\/+$/, '');
  } catch {
    problems.push(`LOCUS_PUBLIC_URL must be an http(s) URL, got "${publicUrlText}"`);
  }

  const logLevel = (text('LOG_LEVEL') ?? 'info').toLowerCase() as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) {
    problems.push(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}`);
  }

  let trustedProxies: Config['trustedProxies'] = null;
  const proxiesText = text('LOCUS_TRUSTED_PROXIES');
  if (proxiesText !== undefined) {
    if (/^\d{1,2}$/.test(proxiesText)) {
      trustedProxies = Number(proxiesText);
    } else {
      const entries = proxiesText.split(',').map((entry) => entry.trim());
      const address = /^(\d{1,3}(\.\d{1,3}){3}|[0-9A-Fa-f:]*:[0-9A-Fa-f:.]*)(\/\d{1,3})?$/;
      const bad = entries.filter((entry) => !address.test(entry) && !['loopback', 'linklocal', 'uniquelocal'].includes(entry));
      if (bad.length > 0)
        problems.push(`LOCUS_TRUSTED_PROXIES takes IP addresses, CIDR ranges, loopback/linklocal/uniquelocal, or a hop count; got "${bad.join(', ')}"`);
      trustedProxies = entries;
    }
  }

  const metricsToken = text('LOCUS_METRICS_TOKEN') ?? null;
  if (metricsToken !== null && !/^[\x21-\x7e]{16,256}$/.test(metricsToken)) {
    problems.push('LOCUS_METRICS_TOKEN must be 16–256 printable characters without spaces');
  }

  if (problems.length > 0 || !databaseProvider || !masterKey) throw new ConfigError(problems);
  return {
    host,
    port,
    databaseUrl,
    databaseProvider,
    sqlitePath,
    dataDir,
    masterKey,
    masterKeySource,
    publicUrl,
    logLevel,
    redisUrl,
    redisPrefix,
    trustedProxies,
    metricsToken,
  };
}
