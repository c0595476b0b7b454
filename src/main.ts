// Process entry: configuration → buildApp → default application (first start) → listen → graceful shutdown.
import { loadConfig, ConfigError } from './config.ts';
import { buildApp } from './app.ts';
import { connectRedis } from './platform/redis.ts';
import type { Credentials } from './modules/applications/service.ts';

function printDefaultCredentials(credentials: Credentials): void {
  // Printed once to stdout, never to the logs: this is the only time the secret is shown.
  process.stdout.write(
    [
      '',
      '==================================================================',
      ' Locus created the "default" application. Save these credentials:',
      ' the secret is shown only this once.',
      '',
      `   applicationId: ${credentials.applicationId}`,
      `   accessKey:     ${credentials.accessKey}`,
      `   accessSecret:  ${credentials.accessSecret}`,
      '',
      ' More applications and keys: npm run locus -- app create --name N',
      '==================================================================',
      '',
      '',
    ].join('\n'),
  );
}

async function main(): Promise<void> {
  const config = loadConfig();
  // Scale-out: kv, bus and the transition queue on Redis (one connection for commands, one for pub/sub).
  const redis =
    config.redisUrl === null
      ? null
      : { client: connectRedis(config.redisUrl), subscriber: connectRedis(config.redisUrl, { subscriber: true }), prefix: config.redisPrefix };
  const app = await buildApp(config, redis ? { redis } : {});
  app.addHook('onClose', async () => {
    redis?.client.disconnect();
    redis?.subscriber.disconnect();
  });

  if (config.databaseProvider === 'sqlite') {
    const credentials = await app.locus.applications.bootstrapDefault();
    if (credentials) printDefaultCredentials(credentials);
  }

  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) return;
    closing = true;
    app.log.info({ signal }, 'shutting down: draining requests');
    // A second signal, or a drain that hangs, ends the process anyway.
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    app.close().then(
      () => process.exit(0),
      (error: unknown) => {
        app.log.error({ err: error }, 'error during shutdown');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));

  await app.listen({ host: config.host, port: config.port });
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) {
    process.stderr.write(`${error.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`Locus failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
