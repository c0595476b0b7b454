// The event types of docs/events.md.
export const EVENT_TYPES = [
  'user.created',
  'user.deleted',
  'user.screenname',
  'locator.added',
  'locator.removed',
  'profile.changed',
  'presence',
  'token.issued',
  'token.revoked',
  'block.changed',
  'contacts.changed',
  'user.suspended',
  'user.reinstated',
] as const;

export type EventType = (typeof EVENT_TYPES)[number];

const KNOWN: ReadonlySet<string> = new Set(EVENT_TYPES);

export function isEventType(value: string): value is EventType {
  return KNOWN.has(value);
}

/** What a user's own stream carries about the users it watches. */
export const WATCHED_TYPES: ReadonlySet<EventType> = new Set(['presence', 'profile.changed']);
