// `npm run bench -- signed`: the signed echo route (HMAC verification, nonce, policy) against a bare
// unauthenticated route returning the same JSON, on one server, in the same run.
//
// Two baselines: the bare route as a static request, and the bare route built per request by the
// same client code with the same signed header values under names the server ignores. autocannon's
// per-request path (setupRequest) by itself costs throughput, so the second baseline isolates what
// verification costs the server: same request sizes, same client work, no verification.
import { load, report, signedGet, startBenchServer } from './harness.ts';

const ECHO = '/v1/test/application/by/accesskey';

export async function benchSigned(): Promise<void> {
  const server = await startBenchServer();
  try {
    const { credentials } = server;
    // Warm-up: JIT, the access-key cache.
    await load(server, 'warm-up', { url: `${server.url}/bench/bare`, duration: 2 });
    const bareStatic = await load(server, 'bare GET, static request', { url: `${server.url}/bench/bare` });
    const bareDynamic = await load(server, 'bare GET, signed per request, unverified', {
      url: server.url,
      requests: [signedGet(credentials, () => '/bench/bare', false)],
    });
    // A fresh Date and Nonce for every request, as a real client signs.
    const signed = await load(server, 'signed GET echo', { url: server.url, requests: [signedGet(credentials, () => ECHO, true)] });
    report(
      [bareStatic, bareDynamic, signed],
      [
        ['signed / bare (same client path)', signed, bareDynamic],
        ['signed / bare (static request)', signed, bareStatic],
      ],
    );
  } finally {
    await server.stop();
  }
}
