// The server under benchmark: a normal Locus app plus one bare route that returns the same JSON as
// the signed echo route without authentication, so the two can be compared in the same process.
import { Type } from 'typebox';
import { buildApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';

const config = loadConfig();
const app = await buildApp(config, { logger: false });
const bareBody = { applicationId: process.env.BENCH_APPLICATION_ID ?? '', name: process.env.BENCH_APPLICATION_NAME ?? '' };
app.get(
  '/bench/bare',
  {
    config: { action: 'health.read' },
    schema: { response: { 200: Type.Object({ applicationId: Type.String(), name: Type.String() }) }, hide: true },
  },
  async () => bareBody,
);
await app.listen({ host: '127.0.0.1', port: 0 });
const address = app.server.address();
process.stdout.write(`READY ${typeof address === 'object' && address ? address.port : 0}\n`);
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
