// The published @mitter-io/node SDK against a listening Locus: the metadata calls it has
// (addMetadataToUser, getMetadataForUser, getUsers with shouldFetchMetadata and a metadata filter).
import t from 'tap';
import mitterModels from '@mitter-io/models';
import { startSdkServer } from '../helpers/sdk.ts';

const { User } = mitterModels;

t.test('metadata through the SDK', async (t) => {
  const { mitter } = await startSdkServer(t);
  const users = mitter.clients().users();
  for (const id of ['sdk-meta-0001', 'sdk-meta-0002']) await users.createUser(new User(id, [], { screenName: id }));

  await users.addMetadataToUser('sdk-meta-0001', { key: 'plan', value: 'gold' });
  await users.addMetadataToUser('sdk-meta-0002', { key: 'plan', value: 'free' });
  const one = await users.getMetadataForUser('sdk-meta-0001', 'plan');
  t.same(one, { key: 'plan', value: { '@type': 'string', text: 'gold' } }, 'AttachedEntityMetadata');

  const filtered = await users.getUsers(undefined, true, undefined, { key: 'plan', value: 'gold', operator: 'Equals' });
  t.same(
    filtered.map((user) => user.userId),
    ['sdk-meta-0001'],
    'getUsers with a metadata filter lists only the matching users',
  );
  t.same(filtered[0]?.entityMetadata, { metadata: [{ key: 'plan', value: { '@type': 'string', text: 'gold' } }] }, 'shouldFetchMetadata=true');
  const contains = await users.getUsers(undefined, false, undefined, { key: 'plan', value: 'e', operator: 'Contains' });
  t.same(
    contains.map((user) => user.userId),
    ['sdk-meta-0002'],
  );
  t.equal(contains[0]?.entityMetadata, null, 'without shouldFetchMetadata, none');
});
