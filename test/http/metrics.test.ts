// docs/deployment.md `/metrics`: Prometheus text that parses, counters that move with traffic
// (requests by route template and status, rate-limited requests, presence transitions and their
// lateness), gauges read at scrape time (open streams, event log heads, webhook backlogs), the
// Node process metrics, the optional bearer token, and scrapes that are neither limited nor logged.
import t, { type Test } from 'tap';
import { runCli } from '../../src/cli.ts';
import { MemoryBus } from '../../src/platform/bus.ts';
import type { BuildOptions } from '../../src/server/locus.ts';
import { buildTestApp } from '../helpers/app.ts';
import { ManualClock } from '../helpers/clock.ts';
import { createTestDatabase } from '../helpers/db.ts';
import { capturedLogs } from '../helpers/logs.ts';
import { StreamClient } from '../helpers/sse.ts';
import { ManualTimers } from '../helpers/timers.ts';
import { json, populate } from '../helpers/world.ts';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/**
 * Parses the Prometheus text exposition format (0.0.4) strictly enough to fail on anything a
 * scraper would reject: every sample line is `name{label="value",…} number`, and every sample's
 * family was announced by a `# TYPE` line before it.
 */
function parsePrometheus(t: Test, text: string): Sample[] {
  const samples: Sample[] = [];
  const typed = new Map<string, string>();
  const sampleLine = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{((?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*)\})? ([+-]?(?:[0-9.e+-]+|inf|nan))$/i;
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const type = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (type) {
      typed.set(type[1]!, type[2]!);
      continue;
    }
    if (/^# HELP [a-zA-Z_:][a-zA-Z0-9_:]* .*$/.test(line)) continue;
    const match = sampleLine.exec(line);
    if (!match) {
      t.fail(`not a Prometheus line: ${line}`);
      continue;
    }
    const [, name, labelText, value] = match;
    const family = name!.replace(/_(bucket|sum|count|total|created)$/, '');
    if (!typed.has(name!) && !typed.has(family)) t.fail(`sample before its # TYPE: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, raw] of (labelText ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[key!] = raw!;
    // Like Prometheus (Go's ParseFloat), NaN and Inf in any case.
    const special = value!.toLowerCase().replace(/^\+/, '');
    samples.push({ name: name!, labels, value: special === 'nan' ? NaN : special === 'inf' ? Infinity : special === '-inf' ? -Infinity : Number(value) });
  }
  return samples;
}

/** The value of the one sample with this name and these labels (0 when absent). */
function valueOf(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  const found = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  return found.reduce((sum, s) => sum + s.value, 0);
}

async function setup(t: Test, options: BuildOptions & { metricsToken?: string } = {}) {
  const database = await createTestDatabase();
  if (options.metricsToken !== undefined) database.config.metricsToken = options.metricsToken;
  t.teardown(() => database.drop());
  const test = await buildTestApp(t, { database, ...options });
  const scrape = async (t: Test, headers: Record<string, string> = {}) => {
    const response = await test.app.inject({ method: 'GET', url: '/metrics', headers });
    t.equal(response.statusCode, 200, 'the scrape answers 200');
    t.match(response.headers['content-type'], /^text\/plain; version=0\.0\.4/);
    return parsePrometheus(t, response.body);
  };
  return { ...test, scrape };
}

t.test('the scrape parses; request counts and durations move with traffic, by route template and status', async (t) => {
  const test = await setup(t);
  await populate(test, ['user-0001']);
  const before = await test.scrape(t);
  const route = { method: 'GET', route: '/v1/users/:userId', status: '200' };
  const reads = valueOf(before, 'locus_http_requests_total', route);
  for (let i = 0; i < 3; i++) t.equal((await test.signed('GET', '/v1/users/user-0001')).statusCode, 200);
  t.equal((await test.signed('GET', '/v1/users/nobody-01')).statusCode, 404);
  t.equal((await test.app.inject({ method: 'GET', url: '/no/such/route' })).statusCode, 404);

  const after = await test.scrape(t);
  t.equal(valueOf(after, 'locus_http_requests_total', route) - reads, 3, 'three reads of /v1/users/:userId with 200');
  t.equal(valueOf(after, 'locus_http_requests_total', { ...route, status: '404' }), 1, 'one 404 of the same route, apart');
  t.equal(valueOf(after, 'locus_http_requests_total', { route: '(unmatched)', status: '404' }), 1, 'a path no route matches is one label, not its path');
  t.equal(valueOf(after, 'locus_http_request_duration_seconds_count', route) - reads, 3, 'each read timed');
  t.ok(valueOf(after, 'locus_http_request_duration_seconds_sum', route) > 0);
  t.equal(
    valueOf(after, 'locus_http_request_duration_seconds_bucket', { ...route, le: '+Inf' }),
    valueOf(after, 'locus_http_request_duration_seconds_count', route),
  );
  const buckets = after.filter((s) => s.name === 'locus_http_request_duration_seconds_bucket' && s.labels.route === route.route && s.labels.status === '200');
  t.same(
    buckets.map((s) => s.labels.le),
    ['0.001', '0.0025', '0.005', '0.01', '0.025', '0.05', '0.1', '0.25', '0.5', '1', '2.5', '10', '+Inf'],
    'the buckets, in order',
  );
  t.ok(
    buckets.every((s, i) => i === 0 || s.value >= buckets[i - 1]!.value),
    'each bucket counts the answers up to its bound (cumulative)',
  );
  t.equal(buckets.at(-2)!.value, buckets.at(-1)!.value, 'every read answered within 10 s');
  t.notOk(
    after.some((s) => s.labels.route?.includes('user-0001')),
    'no user id in any label',
  );
  for (const processMetric of [
    'process_cpu_user_seconds_total',
    'process_resident_memory_bytes',
    'nodejs_eventloop_lag_seconds',
    'nodejs_heap_size_used_bytes',
  ]) {
    t.ok(
      after.some((s) => s.name === processMetric),
      `Node process metric ${processMetric}`,
    );
  }
});

t.test('an event stream is counted once, when it closes, and timed until then; a refused one once, with its status', async (t) => {
  const test = await setup(t, { eventTimers: false });
  const world = await populate(test, ['user-0001']);
  const route = { method: 'GET', route: '/v1/users/me/events' };
  const refused = await test.app.inject({ method: 'GET', url: '/v1/users/me/events', headers: { accept: 'text/event-stream' } });
  t.equal(refused.statusCode, 401);
  let samples = await test.scrape(t);
  t.equal(valueOf(samples, 'locus_http_requests_total', { ...route, status: '401' }), 1, 'the refusal counted once');
  t.equal(valueOf(samples, 'locus_http_request_duration_seconds_count', { ...route, status: '401' }), 1, 'and timed once');

  const address = await test.app.listen({ host: '127.0.0.1', port: 0 });
  const stream = new StreamClient(`${address}/v1/users/me/events`, () => ({ 'x-issued-mitter-user-authorization': world['user-0001']!.token }));
  t.teardown(() => stream.close());
  await stream.opened;
  const openedAt = performance.now();
  t.equal(valueOf(await test.scrape(t), 'locus_http_requests_total', { ...route, status: '200' }), 0, 'an open stream is not counted yet');
  // Held open a little longer than it took to open, so that timing it only until it opened would show.
  await new Promise((resolve) => setTimeout(resolve, 30));
  // The server received the request before the client saw it open, and sees it close after this.
  const heldSeconds = (performance.now() - openedAt) / 1000;
  stream.close();
  let counted = 0;
  for (let i = 0; i < 100 && counted === 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    samples = await test.scrape(t);
    counted = valueOf(samples, 'locus_http_requests_total', { ...route, status: '200' });
  }
  t.equal(counted, 1, 'the closed stream counted once, with its 200');
  t.equal(valueOf(samples, 'locus_http_request_duration_seconds_count', { ...route, status: '200' }), 1);
  t.ok(valueOf(samples, 'locus_http_request_duration_seconds_sum', { ...route, status: '200' }) >= heldSeconds, 'timed until it closed, not until it opened');
  t.equal(
    valueOf(samples, 'locus_http_request_duration_seconds_bucket', { ...route, status: '200', le: '0.025' }),
    0,
    'in no bucket below how long it was held',
  );
  t.equal(valueOf(samples, 'locus_http_request_duration_seconds_bucket', { ...route, status: '200', le: '10' }), 1);
  t.equal(valueOf(samples, 'locus_http_requests_total', { ...route, status: '401' }), 1, 'the refusal still counted once');
});

t.test('rate-limited requests are counted by budget; scrapes are never limited nor logged', async (t) => {
  const { logStream, lines } = capturedLogs();
  const database = await createTestDatabase();
  database.config.logLevel = 'info';
  t.teardown(() => database.drop());
  const test = await buildTestApp(t, { database, logger: undefined, logStream });
  await test.app.locus.applications.updateSettings(test.credentials.applicationId, ['rateLimitApp=2', 'rateLimitAnonymous=3']);
  const statuses = [];
  for (let i = 0; i < 4; i++) statuses.push((await test.signed('GET', '/v1/test/application/by/accesskey')).statusCode);
  t.same(statuses, [200, 200, 429, 429]);
  const logged = lines.length;
  for (let i = 0; i < 30; i++) t.equal((await test.app.inject({ method: 'GET', url: '/metrics' })).statusCode, 200);
  t.equal(lines.length, logged, 'thirty scrapes wrote no log line');
  const samples = parsePrometheus(t, (await test.app.inject({ method: 'GET', url: '/metrics' })).body);
  t.equal(valueOf(samples, 'locus_rate_limited_requests_total', { policy: 'app' }), 2, 'two refusals on the application budget');
  t.equal(valueOf(samples, 'locus_http_requests_total', { route: '/metrics', status: '200' }), 30, 'the scrapes themselves are counted');
});

t.test('LOCUS_METRICS_TOKEN: without it or with another, 401 with the Locus error body; with it, the metrics', async (t) => {
  const token = 'scrape-me-0123456789abcdef';
  const test = await setup(t, { metricsToken: token });
  for (const headers of [{}, { authorization: 'Bearer wrong-token-0123456789' }, { authorization: token }, { authorization: `Basic ${token}` }]) {
    const refused = await test.app.inject({ method: 'GET', url: '/metrics', headers });
    t.equal(refused.statusCode, 401, `refused: ${JSON.stringify(headers)}`);
    t.equal(refused.json().errorCode, 'authorization_exception');
    t.equal(refused.headers['www-authenticate'], 'Bearer realm="metrics"');
    t.notMatch(refused.body, token, 'the token is never echoed');
  }
  const samples = await test.scrape(t, { authorization: `Bearer ${token}` });
  t.ok(samples.some((s) => s.name === 'locus_http_requests_total'));
});

t.test('gauges read at scrape time: open streams, each application’s event log head, each webhook’s backlog', async (t) => {
  const test = await setup(t, { eventTimers: false });
  const world = await populate(test, ['user-0001']);
  const appId = test.credentials.applicationId;
  const address = await test.app.listen({ host: '127.0.0.1', port: 0 });
  const stream = new StreamClient(`${address}/v1/users/me/events`, () => ({ 'x-issued-mitter-user-authorization': world['user-0001']!.token }));
  t.teardown(() => stream.close());
  await stream.opened;
  let samples = await test.scrape(t);
  t.equal(valueOf(samples, 'locus_open_streams'), 1, 'one open stream');
  const head = valueOf(samples, 'locus_event_log_head', { application_id: appId });
  t.ok(head >= 1, 'the head counts the user’s creation');

  // A webhook whose receiver never answers (nothing listens on port 9): two more events stay undelivered.
  let out = '';
  const code = await runCli(['webhook', 'add', appId, 'http://127.0.0.1:9/hooks', '--json'], {
    env: test.database.env,
    stdout: (s) => (out += s),
    stderr: () => undefined,
  });
  t.equal(code, 0);
  const webhookId = (JSON.parse(out) as { webhookId: string }).webhookId;
  for (const userId of ['user-0002', 'user-0003']) {
    t.equal((await test.signed('POST', '/v1/users', { body: json({ userId, screenName: { screenName: userId } }) })).statusCode, 200);
  }
  samples = await test.scrape(t);
  t.equal(valueOf(samples, 'locus_event_log_head', { application_id: appId }), head + 2, 'the head moved by two');
  t.equal(valueOf(samples, 'locus_webhook_backlog_events', { application_id: appId, webhook_id: webhookId }), 2, 'the webhook is two events behind');

  stream.close();
  let open = 1;
  for (let i = 0; i < 100 && open !== 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    open = valueOf(await test.scrape(t), 'locus_open_streams');
  }
  t.equal(open, 0, 'the closed stream is no longer counted');
});

t.test('presence transitions are counted with their lateness', async (t) => {
  const clock = new ManualClock();
  const timers = new ManualTimers(clock);
  // The transition queue in process (no Redis, as in test/http/presence.test.ts): manual timers
  // then decide when each transition fires, with no Redis round trip between the steps.
  const test = await setup(t, { clock, presenceTimers: timers, bus: new MemoryBus() });
  await populate(test, ['user-0001']);
  const chain = {
    type: 'mitter.up.Online',
    timeToLive: 2,
    expiresTo: { type: 'mitter.up.Away', timeToLive: 3, expiresTo: { type: 'mitter.up.Offline', timeToLive: 0 } },
  };
  t.equal((await test.signed('POST', '/v1/users/user-0001/presence', { body: json(chain) })).statusCode, 200);
  t.equal(valueOf(await test.scrape(t), 'locus_presence_transitions_total'), 0, 'a set is not a transition');
  await timers.advance(10_000, 250);
  const samples = await test.scrape(t);
  t.equal(valueOf(samples, 'locus_presence_transitions_total'), 2, 'Online → Away → Offline: two transitions');
  t.equal(valueOf(samples, 'locus_presence_transition_lateness_seconds_count'), 2);
  t.equal(valueOf(samples, 'locus_presence_transition_lateness_seconds_bucket', { le: '1' }), 2, 'each published within a second of its due time');
});
