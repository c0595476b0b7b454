// A few users of one test app, each able to call the API with its own token (the way an end user's
// client does), plus .system through the signing client.
import type { LightMyRequestResponse } from 'fastify';
import type { TestApp } from './app.ts';

export interface Member {
  userId: string;
  token: string;
  tokenId: string;
  /** A request with this user's token (a JSON body when given). */
  call(method: string, url: string, body?: unknown): Promise<LightMyRequestResponse>;
}

export type World = Record<string, Member>;

export const json = (value: unknown): string => JSON.stringify(value);

/** Creates the users (screen name = id) and issues each a token. */
export async function populate(test: TestApp, userIds: string[]): Promise<World> {
  const world: World = {};
  for (const userId of userIds) {
    const created = await test.signed('POST', '/v1/users', { body: json({ userId, screenName: { screenName: userId } }) });
    if (created.statusCode !== 200) throw new Error(`could not create ${userId}: ${created.body}`);
    world[userId] = await memberFor(test, userId);
  }
  return world;
}

/** A fresh token for an existing user. */
export async function memberFor(test: TestApp, userId: string): Promise<Member> {
  const issued = await test.signed('POST', `/v1/users/${userId}/tokens`, { body: '{}' });
  if (issued.statusCode !== 200) throw new Error(`could not issue a token to ${userId}: ${issued.body}`);
  const { signedToken: token, tokenId } = issued.json().userToken as { signedToken: string; tokenId: string };
  return {
    userId,
    token,
    tokenId,
    call: (method, url, body) =>
      test.app.inject({
        method: method as 'GET',
        url,
        headers: { 'x-issued-mitter-user-authorization': token, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        ...(body !== undefined ? { payload: typeof body === 'string' ? body : json(body) } : {}),
      }),
  };
}
