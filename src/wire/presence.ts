// The mitter.io wire shapes of presence (MITTER-WIRE §4.8–§4.9): Presence (recursive through
// expiresTo), the per-user read (`WiredPresence`, with `setTimeMs` and the iOS alias `setTime`)
// and last seen.
import { Type } from 'typebox';
import type { PresenceLink } from '../modules/presence/chain.ts';

export const WirePresenceSchema = Type.Object(
  {
    type: Type.String({ description: 'mitter.up.Online, mitter.up.Away, mitter.up.Sleeping, mitter.up.Missing, mitter.up.Offline, or any 1–128 characters' }),
    timeToLive: Type.Integer({ description: 'Seconds this link stays active; 0 = static (never expires)' }),
    expiresTo: Type.Optional(Type.Ref('Presence')),
  },
  { $id: 'Presence', title: 'Presence' },
);

export const WiredPresenceSchema = Type.Object(
  {
    userId: Type.Ref('Identifiable'),
    presence: Type.Object({
      presence: Type.Union([Type.Ref('Presence'), Type.Null()], { description: 'The link active now, with the rest of its chain; null if none' }),
      setTimeMs: Type.Union([Type.Integer(), Type.Null()], { description: 'When the active link became active (epoch ms)' }),
      setTime: Type.Union([Type.Integer(), Type.Null()], { description: 'The same as setTimeMs (the iOS SDK reads this name)' }),
    }),
  },
  { $id: 'WiredPresence', title: 'WiredPresence' },
);

export const LastSeenSchema = Type.Object(
  {
    userId: Type.Ref('Identifiable'),
    online: Type.Boolean({ description: 'Whether the active presence type is one of the application’s onlineTypes' }),
    lastSeenMs: Type.Union([Type.Integer(), Type.Null()], { description: 'Now while online; else when the user stopped being online; null if never online' }),
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
