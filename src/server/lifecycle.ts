// Start and shutdown, in order. Start: the applications watch, the presence schedule, the event
// and webhook timers. Shutdown: open streams end first (they would keep the server from closing),
// then the timers stop and what is pending is written, then the connections close.
import type { FastifyInstance } from 'fastify';
import { APPLICATIONS_CHANGED_TOPIC } from '../modules/applications/service.ts';
import { realTimers, type Timers } from '../platform/timers.ts';
import type { BuildOptions, Locus } from './locus.ts';

/** How often a server polls for application/key changes made by other processes (docs/decisions.md: ≤ 5 s). */
export const APPLICATIONS_POLL_MS = 2_000;

/** `true`: the real timers; `false`: none (tests drive them by hand); or a test's own. */
function timersOf(setting: boolean | Timers | undefined): Timers | null {
  return setting === undefined || setting === true ? realTimers : setting === false ? null : setting;
}

export async function start(app: FastifyInstance, locus: Locus, options: BuildOptions): Promise<void> {
  const { applications, bus, presence, events, webhooks, tokens, kv, db, redis, streams } = locus;
  if (options.watchApplications ?? true) applications.watch(APPLICATIONS_POLL_MS);
  // The CLI announces its changes on a shared bus: running instances drop their caches at once.
  bus.subscribe(APPLICATIONS_CHANGED_TOPIC, () => applications.invalidate());
  await presence.start(timersOf(options.presenceTimers));
  // A restarted Redis comes back empty: the first instance to reconnect reloads presence from the database.
  const onRedisReady = () => {
    presence.reloadIfLost().catch((error: unknown) => app.log.error({ err: error }, 'could not reload presence after Redis came back'));
  };
  redis?.on('ready', onRedisReady);
  const backgroundTimers = timersOf(options.eventTimers);
  await events.start(backgroundTimers);
  await webhooks.start(backgroundTimers);

  app.addHook('preClose', async () => {
    await events.close();
  });
  app.addHook('onClose', async () => {
    redis?.off('ready', onRedisReady);
    applications.stopWatching();
    await presence.close();
    await events.flush();
    await webhooks.close();
    await streams.close();
    await tokens.flush();
    await bus.close();
    await kv.close();
    await db.close();
  });
}
