// Server-Sent Events plumbing shared by the event streams (docs/events.md) and the console's live
// pages: the route option, the resume point, the sink a subscription writes to, and the 200 that
// goes out once the subscription is live.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { invalidEntity } from '../../errors.ts';
import { parseCommaList } from '../../schemas.ts';
import type { EventsService } from './service.ts';
import type { StreamPlaces } from './places.ts';
import type { EventSink } from './subscription.ts';
import type { LoggedEvent } from './store.ts';
import { EVENT_TYPES, isEventType } from './types.ts';

const EVENT_ID_PATTERN = /^\d{1,15}$/;

export const SseResponse = {
  description:
    'text/event-stream: each event as `id: <id>`, `event: <type>`, `data: <event JSON>`; `reset` and `closing` messages (no id) ' +
    'say that a resume point was lost, or why the server ends the stream; `: keep-alive` comments every 15 s.',
  content: { 'text/event-stream': { schema: { type: 'string' } } },
};

export const SSE_ROUTE = { kind: 'only', heartbeat: false, serializer: (data: unknown) => (typeof data === 'string' ? data : JSON.stringify(data)) } as const;

/** The resume point: the Last-Event-ID header (what EventSource sends on reconnecting), else `lastEventId`. */
export function resumePoint(request: FastifyRequest, query: string | undefined): number | null {
  const header = request.headers['last-event-id'];
  const fromHeader = Array.isArray(header) ? header[0] : header;
  const value = fromHeader !== undefined && fromHeader !== '' ? fromHeader : query;
  if (value === undefined || value === '') return null;
  if (!EVENT_ID_PATTERN.test(value)) {
    const where =
      fromHeader !== undefined && fromHeader !== ''
        ? { field: 'Last-Event-ID', location: 'header' as const }
        : { field: 'lastEventId', location: 'query' as const };
    throw invalidEntity(where, 'pattern', 'must be an event id (decimal digits) received from this server');
  }
  return Number(value);
}

/**
 * Adapts the SSE reply to the events service. The 200 goes out with the first message, or once
 * the subscription is live (see started()): a client that sees the stream open knows that every
 * later change reaches it.
 */
export function openStream(reply: FastifyReply): EventSink {
  reply.sse.keepAlive();
  return {
    send: (event: LoggedEvent) => reply.sse.send({ id: String(event.seq), event: event.type, data: event.json }),
    control: (name, data) => reply.sse.send({ event: name, data: JSON.stringify(data) }),
    comment: () => {
      if (reply.sse.isConnected) reply.raw.write(': keep-alive\n\n');
    },
    close: () => reply.sse.close(),
  };
}

/** Runs `open` holding a place; the place is given back when the stream closes, or at once if it failed to open. */
export async function holdingPlace(release: () => void, open: () => Promise<{ closed: Promise<void> }>): Promise<void> {
  try {
    const stream = await open();
    void stream.closed.then(release);
  } catch (error) {
    release();
    throw error;
  }
}

/** The subscription is live: commit the 200, and end the subscription with the connection (which may have gone already). */
export function started(reply: FastifyReply, close: () => void): void {
  reply.sse.onClose(close);
  if (!reply.sse.isConnected) {
    close();
    return;
  }
  reply.sse.sendHeaders();
  // writeHead alone waits for the first body write; a quiet stream must still open.
  reply.raw.flushHeaders();
}

/**
 * Streams an application's events (all, or those of `typesText`: a comma list) from the resume
 * point on, holding one of the application's stream places (`maxStreamsPerApp`) while it is open:
 * `GET /v1/events` and the console's events stream.
 */
export async function streamApplicationEvents(
  deps: { events: EventsService; places: StreamPlaces },
  request: FastifyRequest,
  reply: FastifyReply,
  options: { applicationId: string; maxStreams: number; typesText: string | undefined; lastEventId: string | undefined },
): Promise<void> {
  const typeList = parseCommaList(options.typesText, {
    where: { field: 'types', location: 'query' },
    dropEmpty: true,
    entry: (type, where) => {
      if (!isEventType(type)) throw invalidEntity(where, 'enum', `must be one of ${EVENT_TYPES.join(', ')}`);
      return type;
    },
  });
  const types = typeList.length === 0 ? null : new Set(typeList);
  const after = resumePoint(request, options.lastEventId);
  const release = await deps.places.take(`app:${options.applicationId}`, options.maxStreams, 'application streams');
  await holdingPlace(release, async () => {
    const sink = openStream(reply);
    const subscription = await deps.events.subscribe({
      applicationId: options.applicationId,
      after,
      filter: { types: types === null ? null : [...types], userIds: null },
      matches: (event) => types === null || types.has(event.type),
      sink,
    });
    started(reply, subscription.close);
    return subscription;
  });
}
