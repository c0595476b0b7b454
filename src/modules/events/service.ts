// Events (docs/events.md): the per-application log, live streams over it, and its retention.
//
// Writers make their change in `transaction`, which appends the events they emit in that same
// transaction and announces the commit; presence, which is not written in a transaction, queues
// its events here and they are appended in group commits (one transaction for whatever queued
// while the previous one ran), announced the same way.
//
// Reading: one feed per application with subscribers, per process. A commit pokes the feed
// (through the bus, so that with a shared bus every process's feed hears it); the feed reads the
// new events once and hands each to every live subscription it matches. A subscription that
// resumes from an earlier id first reads its history itself, then joins the feed: it goes live
// only once its cursor has reached the feed's head, so nothing falls between the two.
// Each subscription has a bounded queue: a consumer too slow to keep up is closed with a reason
// and resumes by id; it never holds up the feed or the other subscriptions.
import { setImmediate as yieldToIo } from 'node:timers/promises';
import type { FastifyBaseLogger } from 'fastify';
import type { Bus } from '../../platform/bus.ts';
import type { Clock } from '../../platform/clock.ts';
import type { Db, DbTransaction } from '../../platform/db.ts';
import type { CompiledQuery } from 'kysely';
import { repeat, type Timers } from '../../platform/timers.ts';
import { CoalescedTask } from '../../platform/coalesce.ts';
import { ApiError } from '../../errors.ts';
import type { ApplicationsService } from '../applications/service.ts';
import { NO_FILTER, type EventDraft, type EventsStore } from './store.ts';
import { Subscription, type SubscribeOptions } from './subscription.ts';

const noop = () => undefined;

export const EVENTS_TOPIC = 'events';
/** Keep-alive comments on every stream this often (docs/events.md). */
export const KEEP_ALIVE_MS = 15_000;
/** Events read per query, by feeds and by resuming streams. */
export const READ_PAGE = 500;
/** Retention runs this often; each run removes at most PRUNE_BATCH events per query. */
export const PRUNE_INTERVAL_MS = 60_000;
const PRUNE_BATCH = 5_000;
/** Presence events waiting for their group commit, at most (beyond: dropped, and logged). */
const MAX_PENDING_APPENDS = 100_000;
/** A failed group commit is retried after this long (besides by the next enqueue). */
const APPEND_RETRY_MS = 1_000;

interface PendingAppend {
  applicationId: string;
  draft: EventDraft;
  /** State written in the same commit as the event (a presence row). */
  companion?: Companion;
  resolve(): void;
  reject(error: unknown): void;
}

/** A row of some kind that commits with an enqueued event (see registerCompanion). */
export interface Companion {
  kind: string;
  row: unknown;
}

/** Writes the companion rows of one kind (in the order enqueued): the statements run first in the group commit. */
export type CompanionWriter = (rows: unknown[]) => CompiledQuery[];

interface Feed {
  applicationId: string;
  head: number;
  /** Reads what was committed after `head` and hands it out (one read at a time). */
  reader: CoalescedTask;
  subscriptions: Set<Subscription>;
}

/** Adds events to the transaction in progress: they are appended when its work is done. */
export type Emit = (...drafts: EventDraft[]) => void;

/**
 * How changes record their events (docs/events.md). A change made in a transaction uses
 * `transaction`: its events are appended in the same transaction and announced after the commit,
 * so no caller has a second call to remember. A change outside the database (presence) uses
 * `enqueue`: its events go into the next group commit.
 */
export interface EventRecorder {
  transaction<T>(applicationId: string, work: (tx: DbTransaction, emit: Emit) => Promise<T>): Promise<T>;
  enqueue(applicationId: string, draft: EventDraft, companion?: Companion): Promise<void>;
  /** How rows of `kind` enqueued with events are written (presence registers its state rows). */
  registerCompanion(kind: string, writer: CompanionWriter): void;
}

export interface EventsServiceDeps {
  db: Db;
  store: EventsStore;
  clock: Clock;
  bus: Bus;
  applications: ApplicationsService;
  log?: FastifyBaseLogger;
}

export class EventsService implements EventRecorder {
  readonly #deps: EventsServiceDeps;
  readonly #store: EventsStore;
  readonly #feeds = new Map<string, Feed>();
  /** Feeds being created: concurrent first subscribers share one head query. */
  readonly #opening = new Map<string, Promise<Feed>>();
  readonly #unsubscribeBus: () => void;
  #pending: PendingAppend[] = [];
  readonly #companions = new Map<string, CompanionWriter>();
  #appending: Promise<void> = Promise.resolve();
  #appendScheduled = false;
  #timers: Timers | null = null;
  #loops: Array<{ stop(): void }> = [];

  constructor(deps: EventsServiceDeps) {
    this.#deps = deps;
    this.#store = deps.store;
    this.#unsubscribeBus = deps.bus.subscribe(EVENTS_TOPIC, (message) => {
      const applicationId = (message as { applicationId?: unknown }).applicationId;
      if (typeof applicationId === 'string') this.#poke(applicationId);
    });
  }

  get store(): EventsStore {
    return this.#store;
  }

  /** Open streams (for tests, the bench and shutdown). */
  get subscriptions(): number {
    let count = 0;
    for (const feed of this.#feeds.values()) count += feed.subscriptions.size;
    return count;
  }

  // ---- writing --------------------------------------------------------------------------------

  /**
   * Runs `work` in one database transaction; what it emits is appended at its end, in the same
   * transaction (in emission order), and every process's feeds of the application are told once it
   * has committed. A `work` that throws rolls back its change and its events alike.
   */
  async transaction<T>(applicationId: string, work: (tx: DbTransaction, emit: Emit) => Promise<T>): Promise<T> {
    const drafts: EventDraft[] = [];
    const result = await this.#deps.db.transaction(async (tx) => {
      drafts.length = 0;
      const value = await work(tx, (...more) => void drafts.push(...more));
      if (drafts.length > 0) await this.#store.append(tx, applicationId, drafts, this.#deps.clock.now());
      return value;
    });
    if (drafts.length > 0) this.#committed(applicationId);
    return result;
  }

  /** Tells every feed of the application (in every process sharing the bus) to read. */
  #committed(applicationId: string): void {
    this.#deps.bus.publish(EVENTS_TOPIC, { applicationId });
  }

  /**
   * For changes not written in a transaction (presence): appended in the next group commit (one
   * transaction for everything queued meanwhile). Resolves once the event is in the log; rejects
   * when that commit failed (the event stays queued and a later commit retries it).
   */
  enqueue(applicationId: string, draft: EventDraft, companion?: Companion): Promise<void> {
    if (this.#pending.length >= MAX_PENDING_APPENDS) {
      this.#deps.log?.error({ applicationId, type: draft.type }, 'too many events waiting to be appended; one was dropped');
      return Promise.reject(new ApiError('unknown_error', 'The event log is not accepting events'));
    }
    if (companion !== undefined && !this.#companions.has(companion.kind)) throw new Error(`no writer for ${companion.kind} rows`);
    return new Promise((resolve, reject) => {
      this.#pending.push({ applicationId, draft, resolve, reject, ...(companion ? { companion } : {}) });
      if (this.#appendScheduled) return;
      this.#appendScheduled = true;
      setImmediate(() => {
        this.#appendScheduled = false;
        void this.flush();
      });
    });
  }

  /**
   * Rows of `kind` enqueued with an event are written by `writer` in the event's group commit, so a
   * state change and its event are durable together (or not at all).
   */
  registerCompanion(kind: string, writer: CompanionWriter): void {
    this.#companions.set(kind, writer);
  }

  /** Appends what is queued (group commits never overlap); resolves when that is done or failed. */
  flush(): Promise<void> {
    this.#appending = this.#appending.then(() => this.#appendPending());
    return this.#appending;
  }

  async #appendPending(): Promise<void> {
    if (this.#pending.length === 0) return;
    const batch = this.#pending;
    this.#pending = [];
    const byApplication = new Map<string, EventDraft[]>();
    const companions = new Map<string, unknown[]>();
    for (const { applicationId, draft, companion } of batch) {
      const drafts = byApplication.get(applicationId) ?? [];
      drafts.push(draft);
      byApplication.set(applicationId, drafts);
      if (companion) companions.set(companion.kind, [...(companions.get(companion.kind) ?? []), companion.row]);
    }
    try {
      const state = [...companions].flatMap(([kind, rows]) => this.#companions.get(kind)?.(rows) ?? []);
      await this.#store.appendBatch(byApplication, this.#deps.clock.now(), state);
    } catch (error) {
      // Kept, in order, ahead of anything queued since: the next commit retries them.
      this.#pending = [...batch.map((entry) => ({ ...entry, resolve: noop, reject: noop })), ...this.#pending];
      this.#deps.log?.error({ err: error, events: batch.length }, 'could not append events; will retry');
      for (const entry of batch) entry.reject(error);
      if (this.#timers !== null) this.#timers.set(() => void this.flush(), APPEND_RETRY_MS);
      return;
    }
    for (const applicationId of byApplication.keys()) this.#committed(applicationId);
    for (const entry of batch) entry.resolve();
  }

  // ---- reading --------------------------------------------------------------------------------

  /** The application's log position (for resume checks). */
  async position(applicationId: string): Promise<{ last: number; prunedThrough: number }> {
    return this.#store.position(applicationId);
  }

  /**
   * Starts a subscription: a `reset` first when the resume point is gone (pruned, or unknown),
   * then the missed events, then live ones. Resolves once it is live (or closed); the returned
   * function ends it.
   */
  async subscribe(options: SubscribeOptions): Promise<{ close: () => void; closed: Promise<void> }> {
    const subscription = new Subscription(options);
    const closed = new Promise<void>((resolve) => subscription.onClose(resolve));
    let feed = await this.#feed(options.applicationId);
    // The last stream of a feed may have left (dropping it) while this one waited: take the current one.
    while (this.#feeds.get(options.applicationId) !== feed) feed = await this.#feed(options.applicationId);
    const joined = feed;
    subscription.onClose(() => this.#leave(joined, subscription));
    feed.subscriptions.add(subscription);
    if (options.after === null) {
      subscription.cursor = feed.head;
      subscription.live = true;
    } else {
      await this.#catchUp(feed, subscription, options.after);
    }
    return { close: () => subscription.disconnected(), closed };
  }

  async #catchUp(feed: Feed, subscription: Subscription, after: number): Promise<void> {
    const position = await this.#store.position(feed.applicationId);
    let cursor = after;
    if (after < position.prunedThrough || after > position.last) {
      await subscription.options.sink
        .control('reset', {
          reason: after > position.last ? 'unknown_event_id' : 'expired',
          lastEventId: String(after),
          resumedAfter: String(position.prunedThrough),
        })
        .catch(() => subscription.disconnected());
      cursor = position.prunedThrough;
    }
    subscription.cursor = cursor;
    while (!subscription.closed) {
      const head = feed.head;
      const page = await this.#store.readAfter(feed.applicationId, subscription.cursor, READ_PAGE, subscription.options.filter);
      for (const event of page) {
        if (event.seq <= subscription.cursor) continue;
        subscription.cursor = event.seq;
        if (subscription.options.matches(event)) subscription.offer(event);
      }
      // A short page saw every committed event up to the head taken before it was read.
      if (page.length < READ_PAGE) subscription.cursor = Math.max(subscription.cursor, head);
      if (page.length < READ_PAGE && subscription.cursor >= feed.head) {
        subscription.live = true;
        return;
      }
      // History goes out at the client's pace.
      if (subscription.queued > READ_PAGE) await subscription.idle();
    }
  }

  async #feed(applicationId: string): Promise<Feed> {
    const existing = this.#feeds.get(applicationId);
    if (existing) return existing;
    let opening = this.#opening.get(applicationId);
    if (!opening) {
      opening = this.#store.position(applicationId).then((position) => {
        const feed: Feed = {
          applicationId,
          head: position.last,
          subscriptions: new Set(),
          reader: new CoalescedTask(
            () => this.#read(feed),
            (error) => this.#deps.log?.error({ err: error, applicationId }, 'could not read the event log; the next change retries'),
          ),
        };
        this.#feeds.set(applicationId, feed);
        this.#opening.delete(applicationId);
        return feed;
      });
      opening.catch(() => this.#opening.delete(applicationId));
      this.#opening.set(applicationId, opening);
    }
    return opening;
  }

  #leave(feed: Feed, subscription: Subscription): void {
    feed.subscriptions.delete(subscription);
    if (feed.subscriptions.size === 0 && !feed.reader.running && this.#feeds.get(feed.applicationId) === feed) this.#feeds.delete(feed.applicationId);
  }

  #poke(applicationId: string): void {
    const feed = this.#feeds.get(applicationId);
    if (feed) void feed.reader.run();
  }

  /** Hands every event after the feed's head to the live subscriptions it matches. */
  async #read(feed: Feed): Promise<void> {
    try {
      for (;;) {
        const page = await this.#store.readAfter(feed.applicationId, feed.head, READ_PAGE, NO_FILTER);
        for (const event of page) {
          feed.head = event.seq;
          for (const subscription of feed.subscriptions) {
            if (!subscription.live || event.seq <= subscription.cursor) continue;
            subscription.cursor = event.seq;
            if (subscription.options.matches(event)) subscription.offer(event);
          }
        }
        if (page.length < READ_PAGE) break;
        // More follow: let the streams write this page first (a read can complete without ever
        // yielding to I/O), so a burst larger than a stream's queue does not close healthy streams.
        await yieldToIo();
      }
    } finally {
      if (feed.subscriptions.size === 0 && this.#feeds.get(feed.applicationId) === feed) this.#feeds.delete(feed.applicationId);
    }
  }

  /** Waits until every feed has read what was committed so far and every stream has written it (tests). */
  async settle(): Promise<void> {
    await this.flush();
    const feeds = [...this.#feeds.values()];
    await Promise.all(feeds.map((feed) => feed.reader.run()));
    await Promise.all(feeds.flatMap((feed) => [...feed.subscriptions].map((subscription) => subscription.idle())));
  }

  // ---- background: keep-alive, retention ------------------------------------------------------

  async start(timers: Timers | null): Promise<void> {
    this.#timers = timers;
    if (timers === null) return;
    this.#loops = [
      repeat(
        timers,
        KEEP_ALIVE_MS,
        () => this.keepAlive(),
        (error) => this.#deps.log?.error({ err: error }, 'event keep-alive failed'),
      ),
      repeat(
        timers,
        PRUNE_INTERVAL_MS,
        () => this.prune(),
        (error) => this.#deps.log?.error({ err: error }, 'event retention failed; will retry'),
      ),
    ];
  }

  /** A keep-alive comment on every stream; streams whose principal lost its right to listen end. */
  async keepAlive(): Promise<void> {
    const checks: Array<Promise<void>> = [];
    for (const feed of this.#feeds.values()) {
      for (const subscription of feed.subscriptions) {
        if (subscription.closed) continue;
        subscription.options.sink.comment();
        if (subscription.options.stillAllowed) {
          checks.push(
            subscription.options.stillAllowed().then(
              (reason) => (reason === null ? undefined : subscription.end(reason)),
              () => undefined,
            ),
          );
        }
      }
    }
    await Promise.all(checks);
  }

  /** Removes the events older than each application's retention window. Returns how many. */
  async prune(): Promise<number> {
    const now = this.#deps.clock.now();
    let removed = 0;
    for (const applicationId of await this.#store.applicationsWithEvents()) {
      const application = await this.#deps.applications.get(applicationId);
      const retentionMs = (application?.settings.eventRetentionSeconds ?? 24 * 60 * 60) * 1000;
      for (;;) {
        const count = await this.#store.prune(applicationId, now - retentionMs, PRUNE_BATCH);
        removed += count;
        if (count < PRUNE_BATCH) break;
      }
    }
    return removed;
  }

  /** Ends every stream (`closing` with reason `shutdown`), stops the timers, appends what is queued. */
  async close(): Promise<void> {
    this.#timers = null;
    for (const loop of this.#loops) loop.stop();
    this.#loops = [];
    for (const feed of [...this.#feeds.values()]) for (const subscription of [...feed.subscriptions]) subscription.end('shutdown');
    this.#unsubscribeBus();
    await this.flush();
  }
}
