// The operator CLI (`npm run locus -- …`): applications, access keys, settings, migrations, and
// the user-token signing key.
// Works on the database named by the environment, whether or not a server is running; running
// servers pick up changes within seconds (they poll the applications revision).
import { loadConfig, ConfigError, type Config } from './config.ts';
import { notifyInstances } from './platform/redis.ts';
import { createDb } from './platform/db.ts';
import { migrate } from './platform/migrate.ts';
import { systemClock } from './platform/clock.ts';
import { APPLICATIONS_CHANGED_TOPIC, ApplicationRequestError, ApplicationsService, type Credentials } from './modules/applications/service.ts';
import { createApplicationsStore } from './modules/applications/store.ts';
import { SettingsError } from './modules/applications/settings.ts';
import { createSigningKidStore } from './modules/tokens/store.ts';
import { SIGNING_KID_REFRESH_MS } from './modules/tokens/service.ts';
import { createEventsStore } from './modules/events/store.ts';
import { createWebhooksStore } from './modules/webhooks/store.ts';
import { ConsoleService, DEFAULT_LINK_TTL_MS, MAX_LINK_TTL_MS } from './modules/console/service.ts';
import { createConsoleStore } from './modules/console/store.ts';
import { parseWebhookTypes, WebhookRequestError, WebhooksAdmin, WEBHOOKS_RELOAD_MS, type WebhookListing } from './modules/webhooks/admin.ts';

export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env?: NodeJS.ProcessEnv;
}

export const USAGE = `Usage: npm run locus -- <command>

  migrate                                   apply pending database migrations
  app create --name <name> [--json]         create an application and its first access key
  app list [--json]                         list applications and their access keys
  app settings <applicationId> [name=value …] [--json]
                                            show or change settings (name=default restores one)
  key add <applicationId> [--json]          add an access key (at most 3 active)
  key revoke <applicationId> <accessKey>    revoke an access key
  token-keys show [--json]                  the key id new user tokens are signed with
  token-keys rotate [--json]                sign new user tokens with a new key; tokens signed
                                            with earlier keys keep working until they expire
  webhook add <applicationId> <url> [--types <type,…>] [--json]
                                            deliver the application's events (of these types) to
                                            url; prints the signing secret once
  webhook list <applicationId> [--json]     endpoints and their delivery state
  webhook remove <applicationId> <webhookId>
  console login-link [--ttl 10m] [--json]   a one-time link that opens the web console (an
                                            8-hour session); --ttl 1s to 24h
  console logout-all [--json]               end every console session and void unused links

The database and master key come from the same environment variables as the server
(DATABASE_URL, LOCUS_DATA_DIR, LOCUS_MASTER_KEY).
`;

class UsageError extends Error {}

function takeFlag(args: string[], flag: string): boolean {
  const index = args.indexOf(flag);
  if (index === -1) return false;
  args.splice(index, 1);
  return true;
}

function takeOption(args: string[], option: string): string | undefined {
  const index = args.findIndex((arg) => arg === option || arg.startsWith(`${option}=`));
  if (index === -1) return undefined;
  const arg = args[index] ?? '';
  if (arg.includes('=')) {
    args.splice(index, 1);
    return arg.slice(option.length + 1);
  }
  const value = args[index + 1];
  if (value === undefined) throw new UsageError(`${option} needs a value`);
  args.splice(index, 2);
  return value;
}

function expectArgs(args: string[], count: number, what: string): string[] {
  if (args.length !== count) throw new UsageError(`expected ${what}`);
  return args;
}

function credentialsText(verb: string, credentials: Credentials): string {
  return [
    `${verb} for application "${credentials.name}" (${credentials.applicationId})`,
    `  applicationId: ${credentials.applicationId}`,
    `  accessKey:     ${credentials.accessKey}`,
    `  accessSecret:  ${credentials.accessSecret}`,
    'The secret is shown only this once.',
    '',
  ].join('\n');
}

function webhookText(hook: WebhookListing): string {
  return [
    `${hook.id}  ${hook.url}  types: ${hook.types?.join(',') ?? 'all'}  (created ${hook.createdAt})`,
    `    delivered ${hook.delivered}, pending ${hook.pending}, failed attempts ${hook.failedAttempts}, abandoned ${hook.abandoned}, cursor ${hook.cursor}`,
    `    last success ${hook.lastSuccessAt ?? 'never'}${hook.lastError ? `; last error ${hook.lastErrorAt}: ${hook.lastError}` : ''}`,
  ].join('\n');
}

async function withService<T>(config: Config, run: (service: ApplicationsService) => Promise<T>): Promise<T> {
  await migrate(config);
  const db = createDb(config);
  try {
    return await run(new ApplicationsService({ store: createApplicationsStore(db), masterKey: config.masterKey, clock: systemClock }));
  } finally {
    await db.close();
  }
}

/** With REDIS_URL, running instances hear of the change at once (else they poll within 2 s). */
async function announceApplicationsChanged(config: Config): Promise<void> {
  if (config.redisUrl !== null) await notifyInstances(config.redisUrl, config.redisPrefix, APPLICATIONS_CHANGED_TOPIC, {});
}

async function dispatch(argv: string[], io: CliIo): Promise<number> {
  const args = [...argv];
  const json = takeFlag(args, '--json');
  const [group, command, ...rest] = args;
  if (group === undefined || group === 'help' || group === '--help' || group === '-h') {
    io.stdout(USAGE);
    return group === undefined ? 2 : 0;
  }
  const config = loadConfig(io.env ?? process.env);
  const print = (value: unknown, text: string) => io.stdout(json ? `${JSON.stringify(value, null, 2)}\n` : text);

  if (group === 'migrate') {
    expectArgs(
      [command, ...rest].filter((a) => a !== undefined),
      0,
      'no arguments to migrate',
    );
    const report = await migrate(config);
    print(report, report.applied.length ? `Applied: ${report.applied.join(', ')}\n` : 'The database is up to date.\n');
    return 0;
  }

  if (group === 'app' && command === 'create') {
    const name = takeOption(rest, '--name');
    if (name === undefined) throw new UsageError('app create needs --name <name>');
    expectArgs(rest, 0, 'only --name and --json');
    const credentials = await withService(config, (service) => service.create(name));
    await announceApplicationsChanged(config);
    print(credentials, credentialsText('Created', credentials));
    return 0;
  }

  if (group === 'app' && command === 'list') {
    expectArgs(rest, 0, 'no arguments to app list');
    const applications = await withService(config, (service) => service.list());
    const text = applications
      .map((app) =>
        [
          `${app.applicationId}  ${app.name}  (created ${app.createdAt})`,
          ...app.accessKeys.map((k) => `    ${k.accessKey}  created ${k.createdAt}${k.revokedAt ? `  REVOKED ${k.revokedAt}` : '  active'}`),
        ].join('\n'),
      )
      .join('\n');
    print(applications, applications.length ? `${text}\n` : 'No applications.\n');
    return 0;
  }

  if (group === 'app' && command === 'settings') {
    const [applicationId, ...assignments] = rest;
    if (applicationId === undefined) throw new UsageError('app settings needs an application id');
    const settings = await withService(config, async (service) => {
      if (assignments.length > 0) return service.updateSettings(applicationId, assignments);
      const application = await service.get(applicationId);
      if (!application) throw new ApplicationRequestError(`no application ${applicationId}`);
      return application.settings;
    });
    if (assignments.length > 0) await announceApplicationsChanged(config);
    const text = Object.entries(settings)
      .map(([name, value]) => `${name} = ${Array.isArray(value) ? value.join(',') : String(value)}`)
      .join('\n');
    print(settings, `${text}\n`);
    return 0;
  }

  if (group === 'key' && command === 'add') {
    const [applicationId] = expectArgs(rest, 1, 'key add <applicationId>');
    const credentials = await withService(config, (service) => service.addKey(applicationId as string));
    await announceApplicationsChanged(config);
    print(credentials, credentialsText('Added an access key', credentials));
    return 0;
  }

  if (group === 'key' && command === 'revoke') {
    const [applicationId, accessKey] = expectArgs(rest, 2, 'key revoke <applicationId> <accessKey>') as [string, string];
    await withService(config, (service) => service.revokeKey(applicationId, accessKey));
    await announceApplicationsChanged(config);
    print({ applicationId, accessKey, revoked: true }, `Revoked ${accessKey}. Running servers refuse it within seconds.\n`);
    return 0;
  }

  if (group === 'token-keys' && (command === 'show' || command === 'rotate')) {
    expectArgs(rest, 0, `no arguments to token-keys ${command}`);
    await migrate(config);
    const db = createDb(config);
    try {
      const store = createSigningKidStore(db);
      const kid = command === 'rotate' ? await store.rotateSigningKid() : await store.signingKid();
      const seconds = SIGNING_KID_REFRESH_MS / 1000;
      print(
        { signingKid: kid },
        command === 'rotate'
          ? `New user tokens are signed with ${kid} (running servers switch within ${seconds} s). Tokens signed with earlier keys keep working until they expire or are revoked.\n`
          : `New user tokens are signed with ${kid}.\n`,
      );
    } finally {
      await db.close();
    }
    return 0;
  }

  if (group === 'webhook' && (command === 'add' || command === 'list' || command === 'remove')) {
    const types = command === 'add' ? parseWebhookTypes(takeOption(rest, '--types')) : null;
    const expected = { add: ['<applicationId> <url>', 2], list: ['<applicationId>', 1], remove: ['<applicationId> <webhookId>', 2] } as const;
    const [usage, count] = expected[command];
    const [applicationId, target] = expectArgs(rest, count, `webhook ${command} ${usage}`) as [string, string];
    await withService(config, async (service) => {
      const db = createDb(config);
      try {
        const admin = new WebhooksAdmin({
          store: createWebhooksStore(db),
          eventLog: createEventsStore(db),
          masterKey: config.masterKey,
          clock: systemClock,
          applicationExists: async (id) => (await service.get(id)) !== null,
        });
        if (command === 'add') {
          const created = await admin.add(applicationId, target, types);
          print(
            created,
            [
              `Added webhook ${created.webhookId} for application ${applicationId}: ${created.url}`,
              `  types:  ${created.types?.join(',') ?? 'all'}`,
              `  secret: ${created.secret}`,
              `The secret is shown only this once. Running servers start delivering within ${WEBHOOKS_RELOAD_MS / 1000} s.`,
              '',
            ].join('\n'),
          );
        } else if (command === 'list') {
          const listed = await admin.list(applicationId);
          print(listed, listed.length ? `${listed.map(webhookText).join('\n')}\n` : 'No webhooks.\n');
        } else {
          await admin.remove(applicationId, target);
          print(
            { applicationId, webhookId: target, removed: true },
            `Removed webhook ${target}. Running servers stop delivering to it within ${WEBHOOKS_RELOAD_MS / 1000} s.\n`,
          );
        }
      } finally {
        await db.close();
      }
    });
    return 0;
  }

  if (group === 'console' && (command === 'login-link' || command === 'logout-all')) {
    const ttlText = command === 'login-link' ? takeOption(rest, '--ttl') : undefined;
    expectArgs(rest, 0, command === 'login-link' ? 'only --ttl <duration>' : 'no arguments');
    const ttlMs = ttlText === undefined ? DEFAULT_LINK_TTL_MS : parseDuration(ttlText);
    if (ttlMs === null || ttlMs < 1_000 || ttlMs > MAX_LINK_TTL_MS) throw new UsageError('--ttl takes 1s to 24h (for example 90s, 10m, 2h)');
    await migrate(config);
    const db = createDb(config);
    try {
      const service = new ConsoleService({ store: createConsoleStore(db), clock: systemClock });
      if (command === 'login-link') {
        const link = await service.createLoginLink(ttlMs);
        const url = `${config.publicUrl.replace(/\/+$/, '')}/console/login/${link.secret}`;
        print(
          { url, expiresAt: link.expiresAt.toISOString() },
          `${url}\nOpens the console once, until ${link.expiresAt.toISOString()}. Anyone with the link can sign in: do not share it.\n`,
        );
      } else {
        const ended = await service.logoutAll();
        print({ sessionsEnded: ended }, `Ended ${ended} console session${ended === 1 ? '' : 's'}; unused login links no longer open.\n`);
      }
    } finally {
      await db.close();
    }
    return 0;
  }

  throw new UsageError(`unknown command "${[group, command].filter(Boolean).join(' ')}"`);
}

/** `90s`, `10m`, `2h` (or plain seconds) in milliseconds; null when it is none of these. */
function parseDuration(text: string): number | null {
  const match = /^(\d{1,6})(s|m|h)?$/.exec(text.trim());
  if (!match) return null;
  return Number(match[1]) * { s: 1_000, m: 60_000, h: 3_600_000 }[(match[2] ?? 's') as 's' | 'm' | 'h'];
}

/** Runs one CLI command; returns the exit code (0 ok, 1 refused or failed, 2 usage or configuration). */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  try {
    return await dispatch(argv, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr(`locus: ${error.message}\n\n${USAGE}`);
      return 2;
    }
    if (error instanceof ConfigError) {
      io.stderr(`${error.message}\n`);
      return 2;
    }
    if (error instanceof ApplicationRequestError || error instanceof SettingsError || error instanceof WebhookRequestError) {
      io.stderr(`locus: ${error.message}\n`);
      return 1;
    }
    io.stderr(`locus: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}
