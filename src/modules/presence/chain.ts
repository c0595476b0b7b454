// The presence chain (docs/presence.md), pure: parsing, resolution at a moment, the next transition, and
// last seen. Set at t0, a link is active for its timeToLive seconds, then its expiresTo is active
// (its own timeToLive counted from then), and so on; timeToLive 0 means static (never expires),
// and a link with a timeToLive but no expiresTo expires to no presence. A link is active on the
// half-open interval [start, start + ttl): at the transition instant the next link is active.
import { invalidEntity, type Where } from '../../errors.ts';
import { isRecord } from '../../schemas.ts';
import { hasDeceptiveCharacters } from '../../platform/text.ts';

export interface PresenceLink {
  type: string;
  /** Seconds; 0 = static. */
  timeToLive: number;
  expiresTo: PresenceLink | null;
}

/** Links in one chain, the outermost included (docs/presence.md). */
export const MAX_CHAIN_LINKS = 16;
export const MAX_TYPE_LENGTH = 128;
/** Ten years: long enough for any session, small enough that every date stays representable. */
export const MAX_TIME_TO_LIVE_SECONDS = 10 * 365 * 86_400;

/** Presences arrive in request bodies; fields are named by their path in the chain. */
const inBody = (field: string): Where => ({ field, location: 'body' });

/**
 * Validates a presence as sent (the JS SDK's builder nests `expiresTo`, first link outermost).
 * Errors name the field by its path (`expiresTo.expiresTo.type`) and, for depth, the link count.
 * Unknown fields are ignored.
 */
export function parsePresence(input: unknown): PresenceLink {
  const links: Array<Omit<PresenceLink, 'expiresTo'>> = [];
  let node: unknown = input;
  let path = '';
  while (node !== undefined && node !== null) {
    const at = (name: string) => (path === '' ? name : `${path}.${name}`);
    if (links.length === MAX_CHAIN_LINKS) {
      throw invalidEntity(inBody(path), 'maxDepth', `a presence chain has at most ${MAX_CHAIN_LINKS} links (this is link ${MAX_CHAIN_LINKS + 1})`, {
        maxLinks: MAX_CHAIN_LINKS,
      });
    }
    if (!isRecord(node)) throw invalidEntity(inBody(path === '' ? 'presence' : path), 'type', 'must be a presence object');
    const { type, timeToLive } = node;
    if (typeof type !== 'string') throw invalidEntity(inBody(at('type')), 'type', 'must be a string');
    const length = [...type].length;
    if (length < 1 || length > MAX_TYPE_LENGTH) throw invalidEntity(inBody(at('type')), 'length', `must be 1 to ${MAX_TYPE_LENGTH} characters`);
    // U+0000 and unpaired surrogates: no database stores them faithfully.
    if (type.includes('\u0000') || !type.isWellFormed()) throw invalidEntity(inBody(at('type')), 'encoding', 'must be valid text without NUL');
    if (hasDeceptiveCharacters(type)) {
      throw invalidEntity(inBody(at('type')), 'deceptive_characters', 'must not contain bidirectional controls, zero-width characters or a BOM');
    }
    let ttl = 0;
    if (timeToLive !== undefined && timeToLive !== null) {
      if (typeof timeToLive !== 'number' || !Number.isInteger(timeToLive) || timeToLive < 0 || timeToLive > MAX_TIME_TO_LIVE_SECONDS) {
        throw invalidEntity(inBody(at('timeToLive')), 'type', `must be a whole number of seconds from 0 to ${MAX_TIME_TO_LIVE_SECONDS}`);
      }
      ttl = timeToLive;
    }
    links.push({ type, timeToLive: ttl });
    node = node.expiresTo;
    path = at('expiresTo');
  }
  if (links.length === 0) throw invalidEntity(inBody('presence'), 'required', 'a presence is required');
  // A static link never expires: whatever follows it can never become active, so it is dropped.
  const staticAt = links.findIndex((link) => link.timeToLive === 0);
  const kept = staticAt === -1 ? links : links.slice(0, staticAt + 1);
  return kept.reduceRight<PresenceLink | null>((next, link) => ({ ...link, expiresTo: next }), null) as PresenceLink;
}

export interface ResolvedPresence {
  /** The link active at the moment asked (with the rest of its chain), or null when the chain ran out. */
  active: PresenceLink | null;
  /** When that link became active (or when the chain ran out). */
  since: number;
}

/** The link active at `now` of a chain set at `setAt` (epoch ms). */
export function resolvePresence(chain: PresenceLink, setAt: number, now: number): ResolvedPresence {
  let link: PresenceLink | null = chain;
  let since = setAt;
  while (link !== null) {
    if (link.timeToLive === 0) return { active: link, since };
    const end = since + link.timeToLive * 1000;
    if (now < end) return { active: link, since };
    link = link.expiresTo;
    since = end;
  }
  return { active: null, since };
}

/** When the link that became active at `since` will give way (epoch ms), or null if it never will. */
export function nextTransition(link: PresenceLink | null, since: number): number | null {
  return link !== null && link.timeToLive > 0 ? since + link.timeToLive * 1000 : null;
}

export interface LastSeen {
  online: boolean;
  /** `now` while online; else when the user last stopped being online; null if never online. */
  lastSeenMs: number | null;
}

/**
 * Last seen from a chain set at `setAt`, given `before`: the last-seen moment carried over from
 * the presences set earlier (null if never online).
 */
export function lastSeen(chain: PresenceLink, setAt: number, before: number | null, now: number, isOnline: (type: string) => boolean): LastSeen {
  let link: PresenceLink | null = chain;
  let start = setAt;
  let lastEnd = before;
  while (link !== null && start <= now) {
    const end = link.timeToLive === 0 ? Number.POSITIVE_INFINITY : start + link.timeToLive * 1000;
    if (now < end) {
      if (isOnline(link.type)) return { online: true, lastSeenMs: now };
      break;
    }
    if (isOnline(link.type)) lastEnd = end;
    link = link.expiresTo;
    start = end;
  }
  return { online: false, lastSeenMs: lastEnd };
}

/** The number of links in a chain. */
export function chainLength(chain: PresenceLink | null): number {
  let n = 0;
  for (let link = chain; link !== null; link = link.expiresTo) n += 1;
  return n;
}
