// `npm run bench -- profiles`: over 2,000 seeded users with 5 attributes each, in the same run:
// signed `GET /v1/users/{id}/profile` against a bare route running the same query, and signed
// `GET /v1/users/{id}?withProfileAttributes=*` against `GET /v1/users/{id}` (the cost of the
// profile in a user read). Pairs run ABBA, as in the users bench.
import { benchScreenName, load, loadAbba, report, seedUsers, signedGet, startBenchServer } from './harness.ts';

const USERS = 2_000;
const ATTRIBUTES = ['mitter.upa.FirstName', 'mitter.upa.LastName', 'mitter.upa.Bio', 'mitter.upa.Gender', 'mitter.upa.address.City'];
const userId = (i: number) => `bench-user-${String(i).padStart(5, '0')}`;

export async function benchProfiles(): Promise<void> {
  const ids = Array.from({ length: USERS }, (_, i) => userId(i));
  const server = await startBenchServer((db, { applicationId }) =>
    seedUsers(db, applicationId, ids, {
      screenName: benchScreenName,
      extra: (i, internalId, now) => [
        db.query.insertInto('ProfileAttribute').values(
          ATTRIBUTES.map((key) => ({
            userInternalId: internalId,
            key,
            contentType: 'text/plain',
            contentEncoding: 'identity',
            value: `${key} of user ${i}`,
            updatedAt: now,
          })),
        ),
      ],
    }),
  );
  try {
    const { credentials } = server;
    let next = 0;
    const pick = () => userId((next = (next + 7919) % USERS));
    const request = (path: () => string, signed: boolean) => signedGet(credentials, path, signed);

    await load(server, 'warm-up', { url: server.url, duration: 2, requests: [request(() => `/v1/users/${pick()}/profile`, true)] });
    const [bareProfile, signedProfile] = await loadAbba(
      server,
      ['bare: readProfile query', { url: server.url, requests: [request(() => `/bench/profiles/${pick()}`, false)] }],
      ['signed GET /v1/users/{id}/profile', { url: server.url, requests: [request(() => `/v1/users/${pick()}/profile`, true)] }],
    );
    const [plainUser, userWithProfile] = await loadAbba(
      server,
      ['signed GET /v1/users/{id}', { url: server.url, requests: [request(() => `/v1/users/${pick()}`, true)] }],
      [
        'signed GET /v1/users/{id}?withProfileAttributes=*',
        { url: server.url, requests: [request(() => `/v1/users/${pick()}?withProfileAttributes=*`, true)] },
      ],
    );
    report(
      [bareProfile, signedProfile, plainUser, userWithProfile],
      [
        ['GET /v1/users/{id}/profile / bare query', signedProfile, bareProfile],
        ['GET /v1/users/{id}?withProfileAttributes=* / without', userWithProfile, plainUser],
      ],
    );
  } finally {
    await server.stop();
  }
}
