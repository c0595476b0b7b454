// What an operator's Prometheus scrapes from `/metrics` (docs/deployment.md), with prom-client.
// One registry per app instance (tests build many); the Node process metrics (CPU, memory, event
// loop, GC) are process-wide and collected once per process. Counters that something else drives
// are plain methods here, so services depend on this small surface and not on prom-client.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { isDependencyDown } from '../../errors.ts';

/** Where gauges read their values at scrape time. */
export interface MetricsSources {
  /** Event streams open on this instance. */
  openStreams(): number;
  /** Each application's event log head (its last event id). */
  eventLogHeads(): Promise<Array<{ applicationId: string; head: number }>>;
  /** Each webhook's backlog: events of its application after the last one it settled. */
  webhookBacklogs(): Promise<Array<{ applicationId: string; webhookId: string; backlog: number }>>;
}

export type Dependency = 'database' | 'redis';

let processRegistry: Registry | null = null;

/** The Node process metrics, registered once per process. */
function processMetrics(): Registry {
  if (processRegistry === null) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

/** One method, route template and status: its answers counted and timed here, read when scraped. */
interface RequestRecord {
  labels: { method: string; route: string; status: string };
  count: number;
  /** Seconds, summed. */
  seconds: number;
  /** Answers per bucket of REQUEST_BUCKETS, each counted in the first it fits (cumulated when scraped). */
  buckets: Float64Array;
}

const REQUEST_DURATIONS = 'locus_http_request_duration_seconds';
const REQUEST_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10];

/**
 * The request duration histogram, as prom-client's registry reads a metric (`get`), from the
 * records: prom-client's own histogram turned each bound into a string key and hashed the labels
 * on every observation, even through a label child, ~2 µs a request on a server under load
 * (docs/benchmarks.md). Exposed exactly as a prom-client histogram is.
 */
function requestDurations(records: readonly RequestRecord[]) {
  const name = REQUEST_DURATIONS;
  const metric = {
    name,
    help: 'Time from receiving a request to sending its answer (event streams: until they close)',
    type: 'histogram' as const,
    aggregator: 'sum' as const,
  };
  return {
    ...metric,
    async get() {
      const values: Array<{ metricName: string; labels: Record<string, string | number>; value: number }> = [];
      for (const { labels, count, seconds, buckets } of records) {
        let cumulated = 0;
        REQUEST_BUCKETS.forEach((le, i) => {
          cumulated += buckets[i] ?? 0;
          values.push({ metricName: `${name}_bucket`, labels: { le, ...labels }, value: cumulated });
        });
        values.push(
          { metricName: `${name}_bucket`, labels: { le: '+Inf', ...labels }, value: count },
          { metricName: `${name}_sum`, labels, value: seconds },
          { metricName: `${name}_count`, labels, value: count },
        );
      }
      return { ...metric, values };
    },
    /** The records are the state: like the request counter, this comes back from them when scraped. */
    reset() {},
  };
}

export class Metrics {
  readonly #registry = new Registry();
  readonly #scraped: Registry;
  /**
   * Records by route template, method and status, found through maps of strings the request already
   * holds (no key is built per request). The request counter is read from their counts when it is
   * scraped: prom-client hashes the labels on every increment, even through a label child.
   */
  readonly #byRoute = new Map<string, Map<string, Map<number, RequestRecord>>>();
  readonly #records: RequestRecord[] = [];
  readonly #rateLimited: Counter<'policy'>;
  readonly #transitions: Counter;
  readonly #lateness: Histogram;
  readonly #dependencyErrors: Counter<'dependency' | 'source'>;
  #sources: MetricsSources | null = null;

  constructor() {
    const registers = [this.#registry];
    const records = this.#records;
    new Counter({
      name: 'locus_http_requests_total',
      help: 'HTTP requests answered, by method, route template and status',
      labelNames: ['method', 'route', 'status'],
      registers,
      collect() {
        this.reset();
        for (const record of records) this.inc(record.labels, record.count);
      },
    });
    // Not a prom-client class, but what its registry asks of one (a name and `get`).
    this.#registry.registerMetric(requestDurations(records) as unknown as Histogram);
    this.#rateLimited = new Counter({
      name: 'locus_rate_limited_requests_total',
      help: 'Requests refused with 429 rate_limited, by budget (app, user, address, login)',
      labelNames: ['policy'],
      registers,
    });
    this.#transitions = new Counter({ name: 'locus_presence_transitions_total', help: 'Chained presence transitions published', registers });
    this.#lateness = new Histogram({
      name: 'locus_presence_transition_lateness_seconds',
      help: 'How long after its due time a presence transition was published',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.#dependencyErrors = new Counter({
      name: 'locus_dependency_errors_total',
      help: 'Database and Redis failures: requests answered 503 because of one (source=request), Redis connection errors (connection), gauges this scrape could not read (scrape)',
      labelNames: ['dependency', 'source'],
      registers,
    });
    const sources = () => this.#sources;
    new Gauge({
      name: 'locus_open_streams',
      help: 'Event streams (SSE) open on this instance',
      registers,
      collect() {
        this.set(sources()?.openStreams() ?? 0);
      },
    });
    const failed = (error: unknown) => this.#scrapeFailed(error);
    new Gauge({
      name: 'locus_event_log_head',
      help: 'The last event id of each application’s event log',
      labelNames: ['application_id'],
      registers,
      async collect() {
        this.reset();
        const heads = await sources()
          ?.eventLogHeads()
          .catch((error: unknown) => failed(error));
        for (const { applicationId, head } of heads ?? []) this.set({ application_id: applicationId }, head);
      },
    });
    new Gauge({
      name: 'locus_webhook_backlog_events',
      help: 'Events of the webhook’s application after the last one it delivered or abandoned',
      labelNames: ['application_id', 'webhook_id'],
      registers,
      async collect() {
        this.reset();
        const backlogs = await sources()
          ?.webhookBacklogs()
          .catch((error: unknown) => failed(error));
        for (const { applicationId, webhookId, backlog } of backlogs ?? []) this.set({ application_id: applicationId, webhook_id: webhookId }, backlog);
      },
    });
    this.#scraped = Registry.merge([processMetrics(), this.#registry]);
  }

  /** Connects the gauges to what they read (the services exist after this registry). */
  attach(sources: MetricsSources): void {
    this.#sources = sources;
  }

  get contentType(): string {
    return this.#scraped.contentType;
  }

  /** The Prometheus text exposition of every metric. */
  scrape(): Promise<string> {
    return this.#scraped.metrics();
  }

  request(method: string, route: string, status: number, seconds: number): void {
    let byMethod = this.#byRoute.get(route);
    if (byMethod === undefined) this.#byRoute.set(route, (byMethod = new Map<string, Map<number, RequestRecord>>()));
    let byStatus = byMethod.get(method);
    if (byStatus === undefined) byMethod.set(method, (byStatus = new Map<number, RequestRecord>()));
    let record = byStatus.get(status);
    if (record === undefined) {
      const labels = { method, route, status: String(status) };
      record = { labels, count: 0, seconds: 0, buckets: new Float64Array(REQUEST_BUCKETS.length) };
      byStatus.set(status, record);
      this.#records.push(record);
    }
    record.count += 1;
    record.seconds += seconds;
    let bucket = 0;
    while (bucket < REQUEST_BUCKETS.length && seconds > (REQUEST_BUCKETS[bucket] as number)) bucket += 1;
    // Past the last bound the answer is counted only in +Inf (the count).
    if (bucket < REQUEST_BUCKETS.length) record.buckets[bucket] = (record.buckets[bucket] as number) + 1;
  }

  rateLimited(policy: string): void {
    this.#rateLimited.inc({ policy });
  }

  presenceTransition(latenessMs: number): void {
    this.#transitions.inc();
    this.#lateness.observe(Math.max(0, latenessMs) / 1000);
  }

  dependencyError(dependency: Dependency, source: 'request' | 'connection' | 'scrape'): void {
    this.#dependencyErrors.inc({ dependency, source });
  }

  /** A gauge that cannot be read is left empty and counted; the scrape itself still answers. */
  #scrapeFailed(error: unknown): undefined {
    this.dependencyError(isDependencyDown(error) ?? 'database', 'scrape');
    return undefined;
  }
}
