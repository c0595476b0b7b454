// The mitter.io wire shapes of presence: Presence (recursive through
// expiresTo), the per-user read (`WiredPresence`, with `setTimeMs` and the iOS alias `setTime`)
// and last seen.
import { Type } from 'typebox';
import type { PresenceLink } from '../modules/presence/chain.ts';

const PresenceFields = {
  type: Type.String({ description: 'mitter.up.Online, mitter.up.Away, mitter.up.Sleeping, mitter.up.Missing, mitter.up.Offline, or any 1–128 characters' }),
  timeToLive: Type.Integer({ description: 'Seconds this link stays active; 0 = static (never expires)' }),
  expiresTo: Type.Optional(Type.Ref('Presence')),
};

export const WirePresenceSchema = Type.Object(PresenceFields, { $id: 'Presence', title: 'Presence' });

// `nullable` rather than unions: fast-json-stringify validates every union branch per value while
// serialising (measured: a 10-user read spent more time there than in everything else). The
// nullable presence repeats the Presence fields, since a `$ref` cannot carry `nullable`.
export const WiredPresenceSchema = Type.Object(
  {
    userId: Type.Ref('Identifiable'),
    presence: Type.Object({
      presence: Type.Object(PresenceFields, { nullable: true, description: 'The link active now, with the rest of its chain; null if none' }),
      setTimeMs: Type.Integer({ nullable: true, description: 'When the active link became active (epoch ms)' }),
      setTime: Type.Integer({ nullable: true, description: 'The same as setTimeMs (the iOS SDK reads this name)' }),
    }),
  },
  { $id: 'WiredPresence', title: 'WiredPresence' },
);

/** A presence or null, inline (a `$ref` cannot carry `nullable`). */
export const NullablePresenceSchema = Type.Unsafe<WirePresence | null>(
  Type.Object(PresenceFields, { nullable: true, description: 'The link active now, with the rest of its chain; null if none' }),
);

export const LastSeenSchema = Type.Object(
  {
    userId: Type.Ref('Identifiable'),
    online: Type.Boolean({ description: 'Whether the active presence type is one of the application’s onlineTypes' }),
    lastSeenMs: Type.Integer({ nullable: true, description: 'Now while online; else when the user stopped being online; null if never online' }),
  },
  { $id: 'LastSeen', title: 'LastSeen' },
);

export const PRESENCE_WIRE_SCHEMAS = [WirePresenceSchema, WiredPresenceSchema, LastSeenSchema];

export interface WirePresence {
  type: string;
  timeToLive: number;
  expiresTo?: WirePresence;
}

/** A chain on the wire: `expiresTo` is left out at the end of the chain. */
export function toWirePresence(link: PresenceLink): WirePresence {
  const wire: WirePresence = { type: link.type, timeToLive: link.timeToLive };
  if (link.expiresTo !== null) wire.expiresTo = toWirePresence(link.expiresTo);
  return wire;
}

export function toWiredPresence(userId: string, active: PresenceLink | null, setTimeMs: number | null) {
  const at = active === null ? null : setTimeMs;
  return { userId: { identifier: userId }, presence: { presence: active === null ? null : toWirePresence(active), setTimeMs: at, setTime: at } };
}
