// How a delivery goes out: undici (Node's own HTTP client, as a library), a pooled Agent with
// connect, header and body timeouts, no redirects followed. Tests pass their own sender.
import { Agent, request } from 'undici';

/** Each attempt's connect, headers and body each get this long. */
export const DELIVERY_TIMEOUT_MS = 10_000;
/** Concurrent requests per endpoint. */
export const MAX_IN_FLIGHT = 8;

/** Sends one delivery; resolves with the HTTP status, rejects on network errors and timeouts. */
export type WebhookSender = (url: string, headers: Record<string, string>, body: string) => Promise<number>;

export function undiciSender(): { send: WebhookSender; close: () => Promise<void> } {
  const agent = new Agent({
    connections: MAX_IN_FLIGHT,
    connectTimeout: DELIVERY_TIMEOUT_MS,
    headersTimeout: DELIVERY_TIMEOUT_MS,
    bodyTimeout: DELIVERY_TIMEOUT_MS,
  });
  return {
    async send(url, headers, body) {
      const response = await request(url, { method: 'POST', headers, body, dispatcher: agent });
      await response.body.dump();
      return response.statusCode;
    },
    close: () => agent.close(),
  };
}
