// The published @mitter-io/node SDK (0.7.6) against a listening Locus: user tokens. The SDK's
// token client issues; the token, decoded as @mitter-io/core decodes it (atob), names the user and
// the application; presented over HTTP it authenticates user routes.
import t from 'tap';
import mitterModels from '@mitter-io/models';
import { startSdkServer } from '../helpers/sdk.ts';

const { User } = mitterModels;

t.test('user tokens through the SDK', async (t) => {
  const { credentials, address, mitter } = await startSdkServer(t);
  await mitter
    .clients()
    .users()
    .createUser(new User('sdk-user@0001', [], { screenName: 'Ada' }));

  const issued = await mitter.clients().userAuth().getUserToken('sdk-user@0001');
  const { signedToken, tokenId } = issued.userToken;
  t.match(tokenId, /^[A-Za-z0-9]{22}$/);
  const payload = JSON.parse(atob(signedToken.split('.')[1] as string));
  t.match(payload, { userId: 'sdk-user@0001', applicationId: credentials.applicationId, userTokenId: tokenId }, 'atob reads userId and applicationId');

  const headers = { 'X-Issued-Mitter-User-Authorization': signedToken, 'X-Mitter-Application-Id': credentials.applicationId };
  const me = await fetch(`${address}/v1/users/me`, { headers });
  t.equal(me.status, 200, 'the token authenticates a user route');
  t.equal(((await me.json()) as { userId: string }).userId, 'sdk-user@0001');
  const mine = await fetch(`${address}/v1/users/me/tokens`, { headers });
  t.match(await mine.json(), [{ tokenId, current: true }]);

  const logout = await fetch(`${address}/v1/users/me/logout`, { headers });
  t.equal(logout.status, 200);
  const after = await fetch(`${address}/v1/users/me`, { headers });
  t.equal(after.status, 401);
  t.equal(((await after.json()) as { errorCode: string }).errorCode, 'claim_rejected', 'what the SDKs treat as "token expired"');

  const refused = await mitter
    .clients()
    .userAuth()
    .getUserToken('.system')
    .catch((error: unknown) => error);
  t.match((refused as { response?: unknown }).response, { status: 403, data: { errorCode: 'token_issuance_refused' } });
});
