// The webhook dispatcher (docs/events.md): POSTs every event of an endpoint's application to it.
//
// Delivery is at least once and in order per user: each endpoint keeps one lane per user (and one
// for events about no user); a lane sends its next event only after the previous one was
// accepted (any 2xx) or given up on, while other lanes go on. A failed attempt is retried with
// exponential backoff (1 s, 2 s, 4 s, … at most 1 h apart) until the event is 24 h old, then it is
// abandoned and counted. The endpoint's cursor (every event up to it delivered or abandoned) is
// stored with its counters, so a restart resumes after it, re-sending at most what was in flight.
import type { FastifyBaseLogger } from 'fastify';
import type { Bus } from '../../platform/bus.ts';
import type { Clock } from '../../platform/clock.ts';
import { deriveKey, open } from '../../platform/crypto.ts';
import { repeat, type Timers } from '../../platform/timers.ts';
import { CoalescedTask } from '../../platform/coalesce.ts';
import { EVENTS_TOPIC } from '../events/service.ts';
import type { EventsStore, LoggedEvent } from '../events/store.ts';
import { SECRET_PURPOSE, WEBHOOKS_RELOAD_MS } from './admin.ts';
import { MAX_IN_FLIGHT, undiciSender, type WebhookSender } from './sender.ts';
import type { DeliveryReport, WebhooksStore } from './store.ts';
import { signWebhook } from './signature.ts';

/** Events are retried until they are this old, then abandoned. */
export const DELIVERY_WINDOW_MS = 24 * 60 * 60 * 1000;
export const FIRST_RETRY_MS = 1_000;
export const MAX_RETRY_MS = 60 * 60 * 1000;
/** Events read ahead per endpoint, at most (a failing lane holds its events here). */
const MAX_QUEUED_PER_ENDPOINT = 1_000;
const READ_PAGE = 200;

interface Lane {
  queue: LoggedEvent[];
  attempts: number;
  retryAt: number;
  busy: boolean;
}

interface Endpoint {
  id: string;
  applicationId: string;
  url: string;
  /** The event types it takes (null: all). */
  types: readonly string[] | null;
  secret: string;
  /** Every event up to here has been read into the lanes. */
  readCursor: number;
  lanes: Map<string, Lane>;
  queued: number;
  inFlight: number;
  /** Reads new events into the lanes (one read at a time), then dispatches. */
  reader: CoalescedTask;
  removed: boolean;
  /** Counters since the last report to the database. */
  report: Omit<DeliveryReport, 'cursor'>;
  reporting: Promise<void>;
}

export interface WebhookDispatcherDeps {
  store: WebhooksStore;
  /** The event log it delivers from. */
  eventLog: EventsStore;
  clock: Clock;
  bus: Bus;
  masterKey: Buffer;
  sender?: WebhookSender;
  /** Delivery once per deployment: only the holder of this lease delivers (none: this process always). */
  lease?: { hold(): Promise<boolean>; release(): Promise<void> };
  log?: FastifyBaseLogger;
}

const emptyReport = (): Omit<DeliveryReport, 'cursor'> => ({ delivered: 0, failedAttempts: 0, abandoned: 0, lastSuccessAt: null, lastError: null });

/** The server's side: delivers events to every endpoint. */
export class WebhookDispatcher {
  readonly #deps: WebhookDispatcherDeps;
  readonly #store: WebhooksStore;
  readonly #events: EventsStore;
  readonly #key: Buffer;
  readonly #endpoints = new Map<string, Endpoint>();
  readonly #send: WebhookSender;
  readonly #closeSender: () => Promise<void>;
  readonly #unsubscribe: () => void;
  #timers: Timers | null = null;
  #retryTimer: unknown = null;
  #retryTimerAt = Number.POSITIVE_INFINITY;
  #reloading: { stop(): void } | null = null;
  readonly #inFlight = new Set<Promise<void>>();

  constructor(deps: WebhookDispatcherDeps) {
    this.#deps = deps;
    this.#store = deps.store;
    this.#events = deps.eventLog;
    this.#key = deriveKey(deps.masterKey, SECRET_PURPOSE);
    if (deps.sender) {
      this.#send = deps.sender;
      this.#closeSender = async () => undefined;
    } else {
      const sender = undiciSender();
      this.#send = sender.send;
      this.#closeSender = sender.close;
    }
    this.#unsubscribe = deps.bus.subscribe(EVENTS_TOPIC, (message) => {
      const applicationId = (message as { applicationId?: unknown }).applicationId;
      if (typeof applicationId !== 'string') return;
      for (const endpoint of this.#endpoints.values()) if (endpoint.applicationId === applicationId) void endpoint.reader.run();
    });
  }

  /** Endpoints being delivered to (tests). */
  get endpoints(): number {
    return this.#endpoints.size;
  }

  async start(timers: Timers | null): Promise<void> {
    this.#timers = timers;
    await this.reload();
    if (timers !== null)
      this.#reloading = repeat(
        timers,
        WEBHOOKS_RELOAD_MS,
        () => this.reload(),
        (error) => this.#deps.log?.warn({ err: error }, 'could not reload webhooks'),
      );
  }

  /**
   * Picks up endpoints added or removed (by the CLI) and starts delivering to new ones. With a
   * lease (instances sharing Redis), only its holder delivers; the others let go of their endpoints
   * and take over, from the stored cursors, when the holder stops renewing it.
   */
  async reload(): Promise<void> {
    if (this.#deps.lease && !(await this.#deps.lease.hold())) {
      for (const endpoint of this.#endpoints.values()) endpoint.removed = true;
      this.#endpoints.clear();
      return;
    }
    const rows = await this.#store.list(null);
    const seen = new Set<string>();
    for (const row of rows) {
      seen.add(row.id);
      if (this.#endpoints.has(row.id)) continue;
      let secret: string;
      try {
        secret = open(this.#key, row.secretSealed, `webhook:${row.id}`).toString('utf8');
      } catch (error) {
        this.#deps.log?.error({ err: error, webhookId: row.id }, 'cannot open a webhook secret (another master key?); the endpoint is skipped');
        continue;
      }
      const endpoint: Endpoint = {
        id: row.id,
        applicationId: row.applicationId,
        url: row.url,
        types: row.types,
        secret,
        readCursor: row.cursor,
        lanes: new Map(),
        queued: 0,
        inFlight: 0,
        reader: new CoalescedTask(
          () => this.#read(endpoint),
          (error) => this.#deps.log?.error({ err: error, webhookId: row.id }, 'could not read events for a webhook; the next change retries'),
        ),
        removed: false,
        report: emptyReport(),
        reporting: Promise.resolve(),
      };
      this.#endpoints.set(row.id, endpoint);
      void endpoint.reader.run();
    }
    for (const [id, endpoint] of this.#endpoints) {
      if (seen.has(id)) continue;
      endpoint.removed = true;
      this.#endpoints.delete(id);
    }
  }

  /** Reads new events into the lanes (up to the endpoint's bound), then sends what it can. */
  async #read(endpoint: Endpoint): Promise<void> {
    try {
      while (!endpoint.removed && endpoint.queued < MAX_QUEUED_PER_ENDPOINT) {
        const { last } = await this.#events.position(endpoint.applicationId);
        const page = await this.#events.readAfter(endpoint.applicationId, endpoint.readCursor, READ_PAGE, { types: endpoint.types, userIds: null });
        for (const event of page) {
          const key = event.userId ?? '';
          let lane = endpoint.lanes.get(key);
          if (!lane) {
            lane = { queue: [], attempts: 0, retryAt: 0, busy: false };
            endpoint.lanes.set(key, lane);
          }
          lane.queue.push(event);
          endpoint.queued += 1;
          endpoint.readCursor = event.seq;
        }
        // A short page saw every event committed before it was read.
        if (page.length < READ_PAGE) {
          endpoint.readCursor = Math.max(endpoint.readCursor, last);
          break;
        }
      }
    } finally {
      this.#dispatch(endpoint);
    }
  }

  /** Starts a delivery on every lane that is idle, due and has something to send. */
  #dispatch(endpoint: Endpoint): void {
    if (endpoint.removed) return;
    const now = this.#deps.clock.now();
    for (const [key, lane] of endpoint.lanes) {
      if (endpoint.inFlight >= MAX_IN_FLIGHT) break;
      if (lane.busy || lane.queue.length === 0) {
        if (!lane.busy && lane.queue.length === 0) endpoint.lanes.delete(key);
        continue;
      }
      if (lane.retryAt > now) {
        this.#armRetry(lane.retryAt);
        continue;
      }
      const delivery = this.#deliver(endpoint, lane).finally(() => this.#inFlight.delete(delivery));
      this.#inFlight.add(delivery);
    }
  }

  async #deliver(endpoint: Endpoint, lane: Lane): Promise<void> {
    const event = lane.queue[0] as LoggedEvent;
    lane.busy = true;
    endpoint.inFlight += 1;
    const now = this.#deps.clock.now();
    let outcome: string | null;
    try {
      const status = await this.#send(
        endpoint.url,
        {
          'content-type': 'application/json',
          'user-agent': 'Locus-Webhooks/0.1',
          'x-locus-event-id': String(event.seq),
          'x-locus-event-type': event.type,
          'x-locus-webhook-id': endpoint.id,
          'x-locus-signature': signWebhook(endpoint.secret, Math.floor(now / 1000), event.json),
        },
        event.json,
      );
      outcome = status >= 200 && status < 300 ? null : `HTTP ${status}`;
    } catch (error) {
      outcome = error instanceof Error ? `${error.name}: ${error.message}`.slice(0, 500) : 'delivery failed';
    } finally {
      lane.busy = false;
      endpoint.inFlight -= 1;
    }
    const at = this.#deps.clock.now();
    if (outcome === null) {
      endpoint.report.delivered += 1;
      endpoint.report.lastSuccessAt = new Date(at);
      this.#done(endpoint, lane);
    } else {
      endpoint.report.failedAttempts += 1;
      endpoint.report.lastError = { at: new Date(at), message: outcome };
      lane.attempts += 1;
      if (at - event.occurredAtMs >= DELIVERY_WINDOW_MS) {
        endpoint.report.abandoned += 1;
        this.#deps.log?.warn({ webhookId: endpoint.id, eventId: event.seq, attempts: lane.attempts }, 'webhook delivery abandoned after 24 h');
        this.#done(endpoint, lane);
      } else {
        lane.retryAt = at + Math.min(FIRST_RETRY_MS * 2 ** (lane.attempts - 1), MAX_RETRY_MS);
      }
    }
    this.#reportLater(endpoint);
    if (endpoint.queued < MAX_QUEUED_PER_ENDPOINT / 2) void endpoint.reader.run();
    else this.#dispatch(endpoint);
  }

  #done(endpoint: Endpoint, lane: Lane): void {
    lane.queue.shift();
    lane.attempts = 0;
    lane.retryAt = 0;
    endpoint.queued -= 1;
  }

  /** Every event before the oldest one still queued is settled (or all read, when none is). */
  #cursor(endpoint: Endpoint): number {
    let oldest = Number.POSITIVE_INFINITY;
    for (const lane of endpoint.lanes.values()) {
      const head = lane.queue[0];
      if (head !== undefined && head.seq < oldest) oldest = head.seq;
    }
    return oldest === Number.POSITIVE_INFINITY ? endpoint.readCursor : oldest - 1;
  }

  #reportLater(endpoint: Endpoint): void {
    endpoint.reporting = endpoint.reporting.then(async () => {
      const report = { ...endpoint.report, cursor: this.#cursor(endpoint) };
      endpoint.report = emptyReport();
      try {
        await this.#store.report(endpoint.id, report);
      } catch (error) {
        // Counted again next time; the cursor is recomputed then.
        endpoint.report.delivered += report.delivered;
        endpoint.report.failedAttempts += report.failedAttempts;
        endpoint.report.abandoned += report.abandoned;
        this.#deps.log?.warn({ err: error, webhookId: endpoint.id }, 'could not record webhook delivery state');
      }
    });
  }

  #armRetry(at: number): void {
    const timers = this.#timers;
    if (timers === null || at >= this.#retryTimerAt) return;
    if (this.#retryTimer !== null) timers.clear(this.#retryTimer);
    this.#retryTimerAt = at;
    this.#retryTimer = timers.set(
      () => {
        this.#retryTimer = null;
        this.#retryTimerAt = Number.POSITIVE_INFINITY;
        this.retryDue();
      },
      Math.max(0, at - this.#deps.clock.now()),
    );
  }

  /** Sends what is due on every endpoint (the retry timer runs this; tests may too). */
  retryDue(): void {
    for (const endpoint of this.#endpoints.values()) this.#dispatch(endpoint);
  }

  /** Waits for deliveries in flight and state reports (tests, shutdown). */
  async settle(): Promise<void> {
    while (this.#inFlight.size > 0 || [...this.#endpoints.values()].some((endpoint) => endpoint.reader.running)) {
      await Promise.all([...this.#inFlight]);
      await new Promise((resolve) => setImmediate(resolve));
    }
    await Promise.all([...this.#endpoints.values()].map((endpoint) => endpoint.reporting));
  }

  async close(): Promise<void> {
    const timers = this.#timers;
    this.#timers = null;
    if (timers !== null && this.#retryTimer !== null) timers.clear(this.#retryTimer);
    this.#reloading?.stop();
    this.#unsubscribe();
    await this.settle();
    for (const endpoint of this.#endpoints.values()) endpoint.removed = true;
    await this.#deps.lease?.release().catch(() => undefined);
    await this.#closeSender();
  }
}
