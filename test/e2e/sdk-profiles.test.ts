// The published @mitter-io/node SDK (0.7.6) against a listening Locus: attribute defs and profiles.
import t from 'tap';
import mitterModels from '@mitter-io/models';
import { startSdkServer } from '../helpers/sdk.ts';

const { AttributeDef, EntityProfileAttribute, User, standardUserProfileAttributes } = mitterModels;

t.test('attribute defs and profiles through the SDK', async (t) => {
  const { mitter } = await startSdkServer(t);
  const users = mitter.clients().users();
  await users.createUser(new User('sdk-user@0001', [], { screenName: 'Ada' }));

  await users.addAttributeDef(new AttributeDef('my-app.users.FavouriteColour', ['text/plain'], ['identity'], false, 'users'));
  const def = await users.getAttributeDef('my-app.users.FavouriteColour');
  t.same(def, {
    key: 'my-app.users.FavouriteColour',
    allowedContentTypes: ['text/plain'],
    allowedContentEncodings: ['identity'],
    canBeEmpty: false,
    entityType: 'users',
  });
  const defs = await users.getAttributeDefs();
  t.ok(
    defs.some((d) => d.key === 'my-app.users.FavouriteColour'),
    'getAttributeDefs lists the new def',
  );
  t.ok(
    defs.some((d) => d.key === standardUserProfileAttributes.firstName),
    'and the standard ones, in the JS SDK’s spelling',
  );

  const redefined = await users
    .addAttributeDef(new AttributeDef('my-app.users.FavouriteColour', ['text/html'], ['identity'], true, 'users'))
    .catch((error: unknown) => error);
  t.match(
    (redefined as { response?: { status: number; data: unknown } }).response,
    { status: 409, data: { errorCode: 'duplicate_entity' } },
    'defs are immutable',
  );

  await users.addAttributeToUserProfile(
    'sdk-user@0001',
    'my-app.users.FavouriteColour',
    new EntityProfileAttribute('my-app.users.FavouriteColour', 'text/plain', 'identity', 'teal'),
  );
  await users.addAttributeToUserProfile(
    'sdk-user@0001',
    standardUserProfileAttributes.firstName,
    new EntityProfileAttribute(standardUserProfileAttributes.firstName, 'text/plain', 'identity', 'Ada'),
  );

  const profile = await users.getUserEntityProfile('sdk-user@0001');
  t.same(profile, {
    entityId: { identifier: 'sdk-user@0001' },
    attributes: [
      { key: 'mitter.user.profile.attribute.FirstName', contentType: 'text/plain', contentEncoding: 'identity', value: 'Ada' },
      { key: 'my-app.users.FavouriteColour', contentType: 'text/plain', contentEncoding: 'identity', value: 'teal' },
    ],
  });
  const some = await users.getUserProfileAttributes('sdk-user@0001', 'my-app.users.FavouriteColour');
  t.equal(some[0]?.value, 'teal', 'getUserProfileAttributes: data[0].value, as the Starter reads it');

  const user = await users.getUser('sdk-user@0001', false, '*');
  t.same(user.entityProfile, profile, 'getUser(id, false, "*") carries entityProfile');

  const refused = await users
    .addAttributeToUserProfile(
      'sdk-user@0001',
      'my-app.users.FavouriteColour',
      new EntityProfileAttribute('my-app.users.FavouriteColour', 'text/plain', 'identity', ''),
    )
    .catch((error: unknown) => error);
  t.match(
    (refused as { response?: { status: number; data: unknown } }).response,
    { status: 400, data: { errorCode: 'invalid_domain_attribute', diagnostics: { key: 'my-app.users.FavouriteColour', rule: 'empty' } } },
    'a refused value reads as invalid_domain_attribute through the SDK error',
  );
});
