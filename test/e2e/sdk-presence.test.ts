// The published @mitter-io/node SDK (0.7.6) against a listening Locus: presence. A chain built
// with @mitter-io/core's UserPresenceBuilder is set, then read back for a comma list of users.
import t from 'tap';
import mitterCore from '@mitter-io/core';
import mitterModels from '@mitter-io/models';
import { startSdkServer } from '../helpers/sdk.ts';

const { UserPresenceBuilder, StandardUserPresenceTypes } = mitterCore;
const { User } = mitterModels;

t.test('presence through the SDK', async (t) => {
  const { mitter } = await startSdkServer(t, { presenceTimers: false });
  const users = mitter.clients().users();
  await users.createUser(new User('sdk-user@0001', [], { screenName: 'Ada' }));
  await users.createUser(new User('sdk-user@0002', [], { screenName: 'Bob' }));

  const chain = new UserPresenceBuilder()
    .startWith(StandardUserPresenceTypes.online(600))
    .then(StandardUserPresenceTypes.away(1200))
    .then(StandardUserPresenceTypes.offline())
    .build();
  const before = Date.now();
  t.same(await users.setUserPresence('sdk-user@0001', chain), {});

  // Typed by the SDK as one WiredPresence; the server answers an array, one per id, in order.
  const read = (await users.getUserPresence('sdk-user@0002,sdk-user@0001')) as unknown as Array<{
    userId: { identifier: string };
    presence: { presence: unknown; setTimeMs: number | null; setTime: number | null };
  }>;
  t.equal(read.length, 2);
  t.same(read[0], { userId: { identifier: 'sdk-user@0002' }, presence: { presence: null, setTimeMs: null, setTime: null } });
  t.same(read[1]?.presence.presence, {
    type: 'mitter.up.Online',
    timeToLive: 600,
    expiresTo: { type: 'mitter.up.Away', timeToLive: 1200, expiresTo: { type: 'mitter.up.Offline', timeToLive: 0 } },
  });
  t.ok((read[1]?.presence.setTimeMs ?? 0) >= before && read[1]?.presence.setTime === read[1]?.presence.setTimeMs, 'setTimeMs, and setTime for iOS');

  const unknown = await users.getUserPresence('sdk-user@0001,sdk-user@0404').catch((error: unknown) => error);
  t.match((unknown as { response?: unknown }).response, { status: 404, data: { errorCode: 'entity_not_found' } });
});
