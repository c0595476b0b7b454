// `npm run bench -- ratelimits`: what counting every request against a rate-limit budget costs. One
// server, two applications with the same 1,000 users and a token each: "on" keeps the default
// limits (no request is refused: 1,000 users share the load, far under 50 a second each), "off" sets
// rateLimitUser=0 and rateLimitApp=0. Paired ABBA in one run:
//   - token `GET /v1/test/application/by/accesskey` (the echo: authentication and little else);
//   - token `POST /v1/users/me/presence` (a three-link chain).
import type { Credentials } from '../../src/modules/applications/service.ts';
import { BENCH_USER_ID as userId, issueTokens, load, loadAbba, PRESENCE_CHAIN, report, seedUsers, startBenchServer, tokenRequest } from './harness.ts';

const USERS = 1_000;

export async function benchRateLimits(): Promise<void> {
  const userIds = Array.from({ length: USERS }, (_, i) => userId(i));
  let off: Credentials | null = null;
  const server = await startBenchServer(async (db, credentials, applications) => {
    off = await applications.create('bench-limits-off');
    await applications.updateSettings(off.applicationId, ['rateLimitUser=0', 'rateLimitApp=0']);
    await seedUsers(db, credentials.applicationId, userIds);
    await seedUsers(db, off.applicationId, userIds);
  });
  try {
    if (off === null) throw new Error('the second application was not created');
    const tokensOn = await issueTokens(server, userIds);
    const tokensOff = await issueTokens(server, userIds, off);
    const rotating = (tokens: string[]) => {
      let next = 0;
      return () => tokens[(next = (next + 7) % USERS)] as string;
    };
    const echo = (tokens: string[]) => tokenRequest('GET', rotating(tokens), true, () => ({ path: '/v1/test/application/by/accesskey' }));
    const presence = (tokens: string[]) => tokenRequest('POST', rotating(tokens), true, () => ({ path: '/v1/users/me/presence', body: PRESENCE_CHAIN }));

    await load(server, 'warm-up', { url: server.url, duration: 2, requests: [echo(tokensOn), echo(tokensOff)] });
    const [echoOff, echoOn] = await loadAbba(
      server,
      ['token echo, limits off', { url: server.url, requests: [echo(tokensOff)] }],
      ['token echo, limits on', { url: server.url, requests: [echo(tokensOn)] }],
    );
    const [presenceOff, presenceOn] = await loadAbba(
      server,
      ['token POST presence, limits off', { url: server.url, requests: [presence(tokensOff)] }],
      ['token POST presence, limits on', { url: server.url, requests: [presence(tokensOn)] }],
    );
    report(
      [echoOff, echoOn, presenceOff, presenceOn],
      [
        ['echo: limits on / off', echoOn, echoOff],
        ['presence POST: limits on / off', presenceOn, presenceOff],
      ],
    );
  } finally {
    await server.stop();
  }
}
