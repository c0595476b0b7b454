// A listening Locus on the real clock (the SDK signs with the real time) and a @mitter-io/node
// client for its first application: the setup of every SDK end-to-end test.
import mitterNode from '@mitter-io/node';
import type { BuildOptions } from '../../src/app.ts';
import { systemClock } from '../../src/platform/clock.ts';
import { buildTestApp, type TestApp } from './app.ts';

const { Mitter, AccessKeyApplicationCredentials } = mitterNode;

export interface SdkServer extends TestApp {
  address: string;
  mitter: ReturnType<typeof Mitter.forNode>;
}

export async function startSdkServer(t: Parameters<typeof buildTestApp>[0], options: BuildOptions = {}): Promise<SdkServer> {
  const test = await buildTestApp(t, { ...options, clock: systemClock });
  const address = await test.app.listen({ host: '127.0.0.1', port: 0 });
  const mitter = Mitter.forNode({
    applicationId: test.credentials.applicationId,
    accessKey: new AccessKeyApplicationCredentials(test.credentials.accessKey, test.credentials.accessSecret),
    mitterApiBaseUrl: address,
  });
  return { ...test, address, mitter };
}
