// `npm run bench -- users`: signed `GET /v1/users/{id}` and `GET /v1/users?locators=…` against bare
// routes that run the same store queries with no authentication, policy or wire shaping, on one
// server, in the same run. Every request targets a different seeded user, chosen and signed per
// request by the client for both sides, so the client path is the same and only the server differs.
// Each pair runs bare, signed, signed, bare (means reported), so drift during the run hits both.
import { domainId } from '../../src/platform/ids.ts';
import { benchScreenName, load, loadAbba, report, seedUsers, signedGet, startBenchServer } from './harness.ts';

const USERS = 2_000;
const userId = (i: number) => `bench-user-${String(i).padStart(5, '0')}`;
const email = (i: number) => `email:bench${i}@example.com`;
const phone = (i: number) => `tele:+1213555${String(i).padStart(4, '0')}`;

export async function benchUsers(): Promise<void> {
  const ids = Array.from({ length: USERS }, (_, i) => userId(i));
  const server = await startBenchServer((db, { applicationId }) =>
    seedUsers(db, applicationId, ids, {
      screenName: benchScreenName,
      extra: (i, internalId, now) => [
        db.query.insertInto('UserLocator').values(
          [email(i), phone(i)].map((locator, position) => ({
            id: domainId(),
            applicationId,
            userInternalId: internalId,
            locator,
            verificationStatus: 'StatusNotProvided',
            position,
            createdAt: now,
          })),
        ),
      ],
    }),
  );
  try {
    const { credentials } = server;
    let next = 0;
    const pick = () => (next = (next + 7919) % USERS);
    const request = (path: () => string, signed: boolean) => signedGet(credentials, path, signed);
    const byId = () => userId(pick());
    const lookup = () => {
      const a = pick();
      const b = pick();
      return `locators=${encodeURIComponent(`${email(a)},${phone(b)}`)}`;
    };

    await load(server, 'warm-up', { url: server.url, duration: 2, requests: [request(() => `/bench/users/${byId()}`, false)] });
    await load(server, 'warm-up', { url: server.url, duration: 2, requests: [request(() => `/v1/users/${byId()}`, true)] });
    const [bareGet, signedRead] = await loadAbba(
      server,
      ['bare: findUser query', { url: server.url, requests: [request(() => `/bench/users/${byId()}`, false)] }],
      ['signed GET /v1/users/{id}', { url: server.url, requests: [request(() => `/v1/users/${byId()}`, true)] }],
    );
    const [bareLookup, signedLookup] = await loadAbba(
      server,
      ['bare: findByLocators query (2)', { url: server.url, requests: [request(() => `/bench/users?${lookup()}`, false)] }],
      ['signed GET /v1/users?locators= (2)', { url: server.url, requests: [request(() => `/v1/users?${lookup()}`, true)] }],
    );
    report(
      [bareGet, signedRead, bareLookup, signedLookup],
      [
        ['GET /v1/users/{id} / bare query', signedRead, bareGet],
        ['GET /v1/users?locators / bare query', signedLookup, bareLookup],
      ],
    );
  } finally {
    await server.stop();
  }
}
