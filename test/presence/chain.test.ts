// The pure presence model: parsing, resolution, the next transition, last seen, and the schedule
// heap. Examples first, then fast-check properties.
import t from 'tap';
import fc from 'fast-check';
import { ApiError } from '../../src/errors.ts';
import { chainLength, lastSeen, MAX_CHAIN_LINKS, nextTransition, parsePresence, resolvePresence, type PresenceLink } from '../../src/modules/presence/chain.ts';
import { TransitionSchedule } from '../../src/modules/presence/schedule.ts';
import { toWirePresence } from '../../src/wire/presence.ts';

const link = (type: string, timeToLive: number, expiresTo: PresenceLink | null = null): PresenceLink => ({ type, timeToLive, expiresTo });
const T0 = 1_000_000;
const CHAIN = link('Online', 10, link('Away', 20, link('Offline', 0)));

/** The index of a link in its chain (the chain's length when none is active). */
function indexOf(chain: PresenceLink, active: PresenceLink | null): number {
  let i = 0;
  for (let l: PresenceLink | null = chain; l !== null; l = l.expiresTo, i++) if (l === active) return i;
  return i;
}

t.test('resolvePresence at every boundary of Online(10) → Away(20) → Offline', async (t) => {
  const at = (ms: number) => {
    const { active, since } = resolvePresence(CHAIN, T0, T0 + ms);
    return [active?.type ?? null, since - T0];
  };
  t.same(at(0), ['Online', 0]);
  t.same(at(9_999), ['Online', 0]);
  t.same(at(10_000), ['Away', 10_000], 'the next link is active at the transition instant');
  t.same(at(29_999), ['Away', 10_000]);
  t.same(at(30_000), ['Offline', 30_000]);
  t.same(at(10 ** 12), ['Offline', 30_000]);
  t.same(at(-5), ['Online', 0], 'before the set time (a clock behind): as set');
  t.equal(resolvePresence(CHAIN, T0, T0 + 10_000).active, CHAIN.expiresTo, 'the active link carries the rest of its chain');

  const runsOut = link('Online', 5, link('Away', 5));
  t.same(resolvePresence(runsOut, T0, T0 + 10_000), { active: null, since: T0 + 10_000 }, 'a chain runs out to no presence');
});

t.test('nextTransition', async (t) => {
  t.equal(nextTransition(CHAIN, T0), T0 + 10_000);
  t.equal(nextTransition(CHAIN.expiresTo, T0 + 10_000), T0 + 30_000);
  t.equal(nextTransition(link('Offline', 0), T0), null, 'static');
  t.equal(nextTransition(null, T0), null, 'nothing active');
});

t.test('lastSeen', async (t) => {
  const isOnline = (type: string) => type === 'Online';
  t.same(lastSeen(CHAIN, T0, null, T0 + 5_000, isOnline), { online: true, lastSeenMs: T0 + 5_000 });
  t.same(lastSeen(CHAIN, T0, null, T0 + 15_000, isOnline), { online: false, lastSeenMs: T0 + 10_000 }, 'stopped by transition');
  t.same(lastSeen(link('Away', 0), T0, 42, T0 + 1, isOnline), { online: false, lastSeenMs: 42 }, 'carried over');
  t.same(lastSeen(link('Away', 0), T0, null, T0 + 1, isOnline), { online: false, lastSeenMs: null }, 'never online');
  const twice = link('Online', 1, link('Away', 1, link('Online', 1, link('Away', 0))));
  t.same(lastSeen(twice, T0, null, T0 + 10_000, isOnline), { online: false, lastSeenMs: T0 + 3_000 }, 'the latest online link');
});

t.test('parsePresence: examples', async (t) => {
  t.same(parsePresence({ type: 'Online', timeToLive: 10, expiresTo: { type: 'Away' } }), link('Online', 10, link('Away', 0)));
  t.same(parsePresence({ type: 'Online', timeToLive: null, expiresTo: null }), link('Online', 0));
  t.same(
    parsePresence({ type: 'Online', timeToLive: 0, expiresTo: { type: 'Away', timeToLive: 5 } }),
    link('Online', 0),
    'links after a static one are dropped',
  );
  const deepest = (n: number): unknown => (n === 1 ? { type: 'x', timeToLive: 1 } : { type: 'x', timeToLive: 1, expiresTo: deepest(n - 1) });
  t.equal(chainLength(parsePresence(deepest(MAX_CHAIN_LINKS))), MAX_CHAIN_LINKS);
  t.throws(() => parsePresence(deepest(MAX_CHAIN_LINKS + 1)), { code: 'invalid_entity', diagnostics: { rule: 'maxDepth' } });
  t.throws(() => parsePresence(undefined), { code: 'invalid_entity', diagnostics: { field: 'presence', rule: 'required' } });
  t.throws(() => parsePresence({ type: '\ud800' }), { code: 'invalid_entity', diagnostics: { field: 'type', rule: 'encoding' } });
  t.same(parsePresence({ type: '😀'.repeat(128) }).type.length, 256, '128 characters, counted as code points');
});

// ---- properties -------------------------------------------------------------------------------

const linkArb: fc.Arbitrary<PresenceLink> = fc
  .array(fc.record({ type: fc.constantFrom('Online', 'Away', 'Offline', 'Busy'), timeToLive: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 100 })) }), {
    minLength: 1,
    maxLength: MAX_CHAIN_LINKS,
  })
  .map((links) => parsePresence(links.reduceRight<unknown>((next, l) => ({ ...l, ...(next ? { expiresTo: next } : {}) }), undefined)));

t.test('property: resolution is monotonic in time', async () => {
  fc.assert(
    fc.property(linkArb, fc.nat(300_000), fc.nat(300_000), (chain, a, b) => {
      const [early, late] = a <= b ? [a, b] : [b, a];
      const first = resolvePresence(chain, T0, T0 + early);
      const second = resolvePresence(chain, T0, T0 + late);
      return indexOf(chain, first.active) <= indexOf(chain, second.active) && first.since <= second.since && second.since <= T0 + late;
    }),
  );
});

t.test('property: a static link never changes', async () => {
  fc.assert(
    fc.property(linkArb, fc.nat(300_000), fc.nat(10 ** 9), (chain, at, later) => {
      const now = resolvePresence(chain, T0, T0 + at);
      if (now.active === null || now.active.timeToLive !== 0) return true;
      const then = resolvePresence(chain, T0, T0 + at + later);
      return then.active === now.active && then.since === now.since && nextTransition(now.active, now.since) === null;
    }),
  );
});

t.test('property: at the transition instant the next link is active; one ms before, the current', async () => {
  fc.assert(
    fc.property(linkArb, fc.nat(300_000), (chain, at) => {
      const { active, since } = resolvePresence(chain, T0, T0 + at);
      const next = nextTransition(active, since);
      if (next === null) return true;
      const before = resolvePresence(chain, T0, next - 1);
      const after = resolvePresence(chain, T0, next);
      return before.active === active && before.since === since && after.active === active!.expiresTo && after.since === next;
    }),
  );
});

t.test('property: following nextTransition visits every link once, in order', async () => {
  fc.assert(
    fc.property(linkArb, (chain) => {
      const seen: Array<PresenceLink | null> = [];
      let { active, since } = resolvePresence(chain, T0, T0);
      seen.push(active);
      for (let next = nextTransition(active, since); next !== null; next = nextTransition(active, since)) {
        ({ active, since } = resolvePresence(chain, T0, next));
        seen.push(active);
      }
      const expected: Array<PresenceLink | null> = [];
      for (let l: PresenceLink | null = chain; l !== null; l = l.expiresTo) expected.push(l);
      if (expected.at(-1)!.timeToLive > 0) expected.push(null);
      return seen.length === expected.length && seen.every((l, i) => l === expected[i]);
    }),
  );
});

t.test('property: parsing accepts its own wire output unchanged, and throws nothing but a 400', async () => {
  fc.assert(fc.property(linkArb, (chain) => JSON.stringify(parsePresence(toWirePresence(chain))) === JSON.stringify(chain)));
  fc.assert(
    fc.property(fc.anything({ maxDepth: 20 }), (input) => {
      try {
        parsePresence(input);
      } catch (error) {
        return error instanceof ApiError && error.code === 'invalid_entity';
      }
      return true;
    }),
  );
});

t.test('property: the schedule pops in due order and keeps one entry per key', async () => {
  const op = fc.oneof(
    fc.record({ kind: fc.constant('set' as const), key: fc.integer({ min: 0, max: 20 }), dueAt: fc.nat(1_000) }),
    fc.record({ kind: fc.constant('delete' as const), key: fc.integer({ min: 0, max: 20 }) }),
    fc.record({ kind: fc.constant('pop' as const), now: fc.nat(1_000) }),
  );
  fc.assert(
    fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
      const schedule = new TransitionSchedule();
      const model = new Map<string, number>();
      for (const o of ops) {
        if (o.kind === 'set') {
          schedule.set(`k${o.key}`, o.dueAt);
          model.set(`k${o.key}`, o.dueAt);
        } else if (o.kind === 'delete') {
          if (schedule.delete(`k${o.key}`) !== model.delete(`k${o.key}`)) return false;
        } else {
          const popped = schedule.popDue(o.now);
          const earliest = Math.min(...model.values());
          if (popped === null) {
            if (earliest <= o.now) return false;
          } else {
            if (popped.dueAt !== earliest || model.get(popped.key) !== popped.dueAt) return false;
            model.delete(popped.key);
          }
        }
        if (schedule.size !== model.size) return false;
      }
      return true;
    }),
  );
});
