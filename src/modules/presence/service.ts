// Presence (docs/presence.md): set and read chained presences, last seen, and server-side transitions.
//
// State lives behind the kv seam (one JSON value per user: the chain as set, when, and the
// last-seen moment carried over from earlier presences); reads resolve the chain at read time and
// never touch the database. The database copy of a set is written in the event log's group commit
// with the set's `presence` event, so a set answered 200 is stored and logged together (a crash
// cannot keep one without the other); it is read once at start to rebuild the kv state and the
// schedule. The checkpoint of published transitions is written every PERSIST_INTERVAL_MS.
//
// Transitions are events: one indexed min-heap holds each user's next due time, and one timer is
// armed for the earliest. A transition publishes a `presence` message on the bus. Every due time
// up to a checkpoint has been published (it is written at start, and with each batch after
// transitions were published), so a restart publishes, once, the transitions that fell due while
// no process ran.
import type { FastifyBaseLogger } from 'fastify';
import type { Bus } from '../../platform/bus.ts';
import type { Clock } from '../../platform/clock.ts';
import type { Kv } from '../../platform/kv.ts';
import { realTimers, type Timers } from '../../platform/timers.ts';
import type { ApplicationsService } from '../applications/service.ts';
import type { EventRecorder } from '../events/service.ts';
import { usersNotFound, type UsersService } from '../users/service.ts';
import { lastSeen, nextTransition, resolvePresence, type LastSeen, type PresenceLink } from './chain.ts';
import { MemoryTransitionQueue, type TransitionQueue } from './queue.ts';
import { toWirePresence } from '../../wire/presence.ts';
import type { PresenceRow, PresenceStore } from './store.ts';

export { realTimers, type Timers };

/** The longest a set presence waits before it is written to the database. */
export const PERSIST_INTERVAL_MS = 500;
export const PRESENCE_TOPIC = 'presence';
/** The companion kind of a presence state row in the event log's group commit. */
const PRESENCE_ROW = 'presence.state';
/** Decoded states kept for reads (each keyed by its kv text, so a changed value is never served). */
const MAX_DECODED_STATES = 100_000;

export interface StoredPresence {
  chain: PresenceLink;
  /** Epoch ms. */
  setAt: number;
  /** Last seen carried over from the presences set before this one (null: never online). */
  lastSeenBefore: number | null;
}

/** Published on the bus for every set and every transition. */
export interface PresenceMessage {
  applicationId: string;
  userId: string;
  /** The link now active (with the rest of its chain), or null when the chain ran out. */
  presence: PresenceLink | null;
  /** When it became active. */
  setTimeMs: number;
  cause: 'set' | 'transition';
}

export interface PresenceReading {
  userId: string;
  presence: PresenceLink | null;
  setTimeMs: number | null;
}

export interface LastSeenReading extends LastSeen {
  userId: string;
}

export interface PresenceServiceDeps {
  clock: Clock;
  kv: Kv;
  bus: Bus;
  store: PresenceStore;
  users: UsersService;
  applications: ApplicationsService;
  events: EventRecorder;
  /** Where pending transitions wait: in process by default, Redis when instances share them. */
  queue?: TransitionQueue;
  log?: FastifyBaseLogger;
  /** Hears each published transition with how late it was (for `/metrics`). */
  onTransition?: (latenessMs: number) => void;
}

const kvKey = (applicationId: string, userId: string) => `presence:${applicationId}:${userId}`;
/** Schedule keys: application ids never contain ':'. */
const scheduleKey = (applicationId: string, userId: string) => `${applicationId}:${userId}`;

function splitScheduleKey(key: string): { applicationId: string; userId: string } {
  const colon = key.indexOf(':');
  return { applicationId: key.slice(0, colon), userId: key.slice(colon + 1) };
}

/** State written by encodeState (PresenceLink objects serialise to exactly their JSON shape). */
export function decodeState(text: string): StoredPresence {
  return JSON.parse(text) as StoredPresence;
}

export function encodeState(state: StoredPresence): string {
  return JSON.stringify(state);
}

export class PresenceService {
  readonly #deps: PresenceServiceDeps;
  readonly #schedule: TransitionQueue;
  /** Null while the timers are off (before start, after close, or when a test drives them). */
  #timers: Timers | null = null;
  #timer: unknown = null;
  #timerAt = Number.POSITIVE_INFINITY;
  #persistTimer: unknown = null;
  #processedUntil: number;
  /** Transitions published since the checkpoint was last written. */
  #unrecorded = 0;
  #persisting: Promise<void> = Promise.resolve();
  readonly #decoded = new Map<string, { text: string; state: StoredPresence }>();

  constructor(deps: PresenceServiceDeps) {
    this.#deps = deps;
    this.#schedule = deps.queue ?? new MemoryTransitionQueue();
    this.#processedUntil = deps.clock.now();
    // A set's state row commits with its event, in the same group commit (docs/presence.md).
    deps.events.registerCompanion(PRESENCE_ROW, (rows) => deps.store.upsertStatements(rows as PresenceRow[]));
    // The database row goes with the user row (foreign key, cascade); the rest goes here.
    deps.users.onDeleted(async (user) => {
      await this.#schedule.delete(scheduleKey(user.applicationId, user.userId));
      this.#decoded.delete(kvKey(user.applicationId, user.userId));
      await deps.kv.delete(kvKey(user.applicationId, user.userId));
    });
  }

  /** Pending transitions (for tests and the bench). */
  async scheduled(): Promise<number> {
    return this.#schedule.size();
  }

  // ---- lifecycle ------------------------------------------------------------------------------

  /**
   * Loads every stored presence into kv and the schedule, publishes the transitions that fell due
   * after the last checkpoint (while no process ran), then starts the timers (none: the caller
   * runs runDue() and flush() itself). On a queue shared by instances, only the first process to
   * start loads: the others find the state and the schedule in place.
   */
  async start(timers: Timers | null = realTimers): Promise<void> {
    if (await this.#schedule.claimLoad()) await this.#load();
    this.#timers = timers;
    this.#arm();
    this.#armPersist();
  }

  /**
   * After Redis came back (reconnected): when the shared state is gone (a restarted Redis keeps
   * nothing), one instance loads it again from the database. True when this one did.
   */
  async reloadIfLost(): Promise<boolean> {
    if (!(await this.#schedule.claimLoad())) return false;
    this.#deps.log?.warn('the shared presence state was lost (Redis restarted?): reloading it from the database');
    await this.flush();
    await this.#load();
    this.#arm();
    return true;
  }

  async #load(): Promise<void> {
    const now = this.#deps.clock.now();
    const checkpoint = (await this.#deps.store.checkpoint()) ?? now;
    for await (const page of this.#deps.store.loadAll()) {
      for (const row of page) {
        let state: StoredPresence;
        try {
          state = decodeState(row.state);
        } catch (error) {
          this.#deps.log?.error({ err: error, userId: row.userId }, 'unreadable stored presence skipped');
          continue;
        }
        await this.#deps.kv.set(kvKey(row.applicationId, row.userId), row.state);
        const { active, since } = resolvePresence(state.chain, state.setAt, now);
        if (since > checkpoint && since > state.setAt) {
          void this.#publish({ applicationId: row.applicationId, userId: row.userId, presence: active, setTimeMs: since, cause: 'transition' });
        }
        const next = nextTransition(active, since);
        if (next !== null) await this.#schedule.set(scheduleKey(row.applicationId, row.userId), next);
      }
    }
    this.#processedUntil = now;
    // From here on every transition due up to now is published: record it, or a crash before the
    // first batch would forget what the catch-up above covered.
    await this.#deps.store.setCheckpoint(now);
  }

  #armPersist(): void {
    const timers = this.#timers;
    if (timers === null) return;
    this.#persistTimer = timers.set(() => {
      void this.flush().finally(() => this.#armPersist());
    }, PERSIST_INTERVAL_MS);
  }

  /** Stops the timers and writes what is pending. */
  async close(): Promise<void> {
    const timers = this.#timers;
    this.#timers = null;
    if (timers !== null && this.#timer !== null) timers.clear(this.#timer);
    if (timers !== null && this.#persistTimer !== null) timers.clear(this.#persistTimer);
    this.#timer = null;
    this.#persistTimer = null;
    await this.flush();
  }

  // ---- set and read ---------------------------------------------------------------------------

  async set(applicationId: string, userId: string, chain: PresenceLink): Promise<void> {
    if (!(await this.#deps.users.exists(applicationId, userId))) throw usersNotFound([userId]);
    const key = kvKey(applicationId, userId);
    const now = this.#deps.clock.now();
    const previousText = await this.#deps.kv.get(key);
    let lastSeenBefore: number | null = null;
    if (previousText !== null) {
      const previous = decodeState(previousText);
      const isOnline = await this.#onlineTest(applicationId);
      lastSeenBefore = lastSeen(previous.chain, previous.setAt, previous.lastSeenBefore, now, isOnline).lastSeenMs;
    }
    const state = encodeState({ chain, setAt: now, lastSeenBefore });
    await this.#deps.kv.set(key, state);
    const sKey = scheduleKey(applicationId, userId);
    const next = nextTransition(chain, now);
    if (next === null) await this.#schedule.delete(sKey);
    else await this.#schedule.set(sKey, next);
    const appended = this.#publish({ applicationId, userId, presence: chain, setTimeMs: now, cause: 'set' }, { applicationId, userId, state });
    // The timer only ever needs to move earlier here, and the new due time is known: no queue read.
    if (next !== null) this.#armIn(Math.max(0, Math.min(next - now, this.#schedule.maxSleepMs)));
    // Acknowledged once its event is in the log: a change the caller makes next is ordered after it.
    await appended;
  }

  async read(applicationId: string, userIds: string[]): Promise<PresenceReading[]> {
    const states = await this.#states(applicationId, userIds);
    const now = this.#deps.clock.now();
    return userIds.map((userId, i) => {
      const state = states[i];
      if (!state) return { userId, presence: null, setTimeMs: null };
      const { active, since } = resolvePresence(state.chain, state.setAt, now);
      return { userId, presence: active, setTimeMs: active === null ? null : since };
    });
  }

  /**
   * How many users of the application are in each presence type now (`null`: a chain that ended),
   * read from the stored presences (every set is stored with its event), at most `limit` of them.
   */
  async countsByType(applicationId: string, limit: number): Promise<{ counts: Record<string, number>; counted: number; truncated: boolean }> {
    const states = await this.#deps.store.ofApplication(applicationId, limit + 1);
    const now = this.#deps.clock.now();
    const counts: Record<string, number> = {};
    for (const text of states.slice(0, limit)) {
      const state = decodeState(text);
      const type = resolvePresence(state.chain, state.setAt, now).active?.type ?? 'null';
      counts[type] = (counts[type] ?? 0) + 1;
    }
    return { counts, counted: Math.min(states.length, limit), truncated: states.length > limit };
  }

  async lastSeen(applicationId: string, userIds: string[]): Promise<LastSeenReading[]> {
    const states = await this.#states(applicationId, userIds);
    const isOnline = await this.#onlineTest(applicationId);
    const now = this.#deps.clock.now();
    return userIds.map((userId, i) => {
      const state = states[i];
      if (!state) return { userId, online: false, lastSeenMs: null };
      return { userId, ...lastSeen(state.chain, state.setAt, state.lastSeenBefore, now, isOnline) };
    });
  }

  async #states(applicationId: string, userIds: string[]): Promise<Array<StoredPresence | null>> {
    const missing = await this.#deps.users.missing(applicationId, userIds);
    if (missing.length > 0) throw usersNotFound(missing);
    const texts = await this.#deps.kv.getMany(userIds.map((userId) => kvKey(applicationId, userId)));
    return texts.map((text, i) => (text === null ? null : this.#decode(userIds[i] as string, applicationId, text)));
  }

  /** Parsing is most of a read's cost; the same kv text always decodes to the same state. */
  #decode(userId: string, applicationId: string, text: string): StoredPresence {
    const key = kvKey(applicationId, userId);
    const cached = this.#decoded.get(key);
    if (cached !== undefined && cached.text === text) return cached.state;
    const state = decodeState(text);
    if (cached === undefined && this.#decoded.size >= MAX_DECODED_STATES) {
      const oldest = this.#decoded.keys().next();
      if (!oldest.done) this.#decoded.delete(oldest.value);
    }
    this.#decoded.set(key, { text, state });
    return state;
  }

  async #onlineTest(applicationId: string): Promise<(type: string) => boolean> {
    const application = await this.#deps.applications.get(applicationId);
    const onlineTypes = new Set(application?.settings.onlineTypes ?? ['mitter.up.Online']);
    return (type) => onlineTypes.has(type);
  }

  // ---- transitions ----------------------------------------------------------------------------

  /**
   * Publishes every transition due at or before now, each once (on a shared queue, by whichever
   * instance claims it) and in order per user (a chain that passed several links since the last
   * run publishes each of them), and schedules the next ones.
   */
  async runDue(): Promise<number> {
    const now = this.#deps.clock.now();
    let fired = 0;
    for (let batch = await this.#schedule.claimDue(now); batch.length > 0; batch = await this.#schedule.claimDue(now)) {
      for (const due of batch) {
        const { applicationId, userId } = splitScheduleKey(due.key);
        const text = await this.#deps.kv.get(kvKey(applicationId, userId));
        // A set or a deletion meanwhile (here or on another instance) rescheduled or removed this user.
        if (text === null || (await this.#schedule.has(due.key))) continue;
        const state = decodeState(text);
        const { active, since } = resolvePresence(state.chain, state.setAt, due.dueAt);
        if (since !== due.dueAt) continue; // a stale entry: the stored chain has no transition then
        void this.#publish({ applicationId, userId, presence: active, setTimeMs: since, cause: 'transition' });
        this.#deps.onTransition?.(this.#deps.clock.now() - due.dueAt);
        fired += 1;
        this.#unrecorded += 1;
        const next = nextTransition(active, since);
        // Only if absent: a presence set since the state was read owns the schedule now.
        if (next !== null) await this.#schedule.set(due.key, next, true);
      }
    }
    this.#processedUntil = Math.max(this.#processedUntil, now);
    return fired;
  }

  #arm(): void {
    void this.#armAt().catch((error: unknown) => {
      this.#deps.log?.error({ err: error }, 'could not read the transition schedule; retrying');
      this.#armIn(this.#schedule.maxSleepMs);
    });
  }

  async #armAt(): Promise<void> {
    if (this.#timers === null) return;
    const earliest = await this.#schedule.earliest();
    this.#armIn(Math.max(0, Math.min((earliest ?? Number.POSITIVE_INFINITY) - this.#deps.clock.now(), this.#schedule.maxSleepMs)));
  }

  #armIn(delayMs: number): void {
    const timers = this.#timers;
    if (timers === null) return;
    const at = this.#deps.clock.now() + delayMs;
    if (this.#timer !== null && this.#timerAt <= at) return;
    if (this.#timer !== null) timers.clear(this.#timer);
    this.#timerAt = at;
    this.#timer = timers.set(() => {
      this.#timer = null;
      this.#timerAt = Number.POSITIVE_INFINITY;
      this.runDue()
        .catch((error: unknown) => this.#deps.log?.error({ err: error }, 'presence transitions failed'))
        .finally(() => this.#arm());
    }, delayMs);
  }

  /**
   * Every set and transition is a `presence` event, appended in the events' next group commit;
   * the promise settles with that commit (a set waits for it, transitions do not).
   */
  #publish(message: PresenceMessage, row?: PresenceRow): Promise<void> {
    this.#deps.bus.publish(PRESENCE_TOPIC, message);
    const appended = this.#deps.events.enqueue(
      message.applicationId,
      {
        type: 'presence',
        userId: message.userId,
        data: { presence: message.presence === null ? null : toWirePresence(message.presence), setTimeMs: message.setTimeMs },
      },
      row === undefined ? undefined : { kind: PRESENCE_ROW, row },
    );
    if (message.cause === 'transition') appended.catch(() => undefined); // logged by the events service, retried there
    return appended;
  }

  // ---- persistence ----------------------------------------------------------------------------

  /** Writes the pending presences and the checkpoint (batches never overlap). */
  flush(): Promise<void> {
    this.#persisting = this.#persisting.then(() => this.#persist());
    return this.#persisting;
  }

  async #persist(): Promise<void> {
    // Taken together: the checkpoint covers at least the transitions counted (a count that runs
    // ahead only means a restart may publish a transition twice, never that it skips one).
    const checkpoint = this.#processedUntil;
    const unrecorded = this.#unrecorded;
    // Sets are stored with their events (the group commit); what remains is the checkpoint.
    // Only after transitions were published: between them, an older checkpoint covers the same
    // (a chain's links are published by transitions, never by sets), and an idle server writes nothing.
    if (unrecorded > 0) {
      try {
        await this.#deps.store.setCheckpoint(checkpoint);
        this.#unrecorded -= unrecorded;
      } catch (error) {
        this.#deps.log?.error({ err: error }, 'could not persist the presence checkpoint; will retry');
      }
    }
  }
}
