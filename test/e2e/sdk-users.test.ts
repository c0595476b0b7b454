// The published @mitter-io/node SDK (0.7.6) against a listening Locus: users and locators.
import t from 'tap';
import mitterModels from '@mitter-io/models';
import { startSdkServer } from '../helpers/sdk.ts';

const { EmailUserLocator, MobileNumberLocator, User } = mitterModels;

t.test('users and locators through the SDK', async (t) => {
  const { mitter } = await startSdkServer(t);
  const users = mitter.clients().users();

  const withId = await users.createUser(new User('sdk-user@0001', [new EmailUserLocator('Ada.Lovelace@Example.COM')], { screenName: 'Ada' }));
  t.same(withId, { identifier: 'sdk-user@0001' }, 'createUser with an id answers its identifier');
  const generated = await users.createUser(new User(undefined as unknown as string, [], { screenName: 'No Id' }));
  t.match(generated.identifier, /^[A-Za-z0-9]{5}(-[A-Za-z0-9]{5}){3}$/, 'createUser without an id gets a generated one');

  const ada = await users.getUser('sdk-user@0001');
  t.equal(ada.userId, 'sdk-user@0001');
  t.same(ada.screenName, { screenName: 'Ada' });
  t.match(ada.userLocators, [
    { '@type': 'email', locator: 'email:ada.lovelace@example.com', email: 'ada.lovelace@example.com', verificationStatus: 'StatusNotProvided' },
  ]);

  await users.addUserLocator('sdk-user@0001', new MobileNumberLocator('+91 98765-43210', undefined as unknown as string));
  const found = await users.getUsers(['EMAIL:  ADA.lovelace@example.com ', 'tele:+91 (98765) 43210']);
  t.equal(found.length, 1, 'two spellings of two locators find one user');
  t.equal(found[0]?.userId, 'sdk-user@0001');
  t.match(found[0]?.userLocators, [
    { locator: 'email:ada.lovelace@example.com' },
    { '@type': 'tele', locator: 'tele:+919876543210', phoneNumber: '+919876543210' },
  ]);

  const everyone = await users.getUsers();
  t.same(everyone.map((u) => u.userId).sort(), [generated.identifier, 'sdk-user@0001'].sort(), 'getUsers() lists everyone');

  const duplicate = await users.createUser(new User('sdk-user@0001', [], { screenName: 'Again' })).catch((error: unknown) => error);
  const response = (duplicate as { response?: { status: number; data: { errorCode: string } } }).response;
  t.equal(response?.status, 409, 'a taken id is a 409');
  t.equal(response?.data.errorCode, 'duplicate_entity', 'read through the SDK error: duplicate_entity');
});
