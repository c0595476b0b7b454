// The webhook signature (docs/events.md): `X-Locus-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>` over
// `<t>.<body>` with the endpoint's secret. The timestamp is signed so that a captured delivery
// cannot be replayed later; receivers check it is recent (verifyWebhookSignature does).
import { createHmac } from 'node:crypto';
import { constantTimeEqual } from '../../platform/crypto.ts';

export const SIGNATURE_HEADER = 'x-locus-signature';
/** How old a signature a receiver should accept, by default. */
export const SIGNATURE_TOLERANCE_SECONDS = 300;

export function signWebhook(secret: string, timestampSeconds: number, body: string): string {
  const mac = createHmac('sha256', secret).update(`${timestampSeconds}.${body}`, 'utf8').digest('hex');
  return `t=${timestampSeconds},v1=${mac}`;
}

/** What a receiver runs: true when `header` signs `body` with `secret` and is recent enough. */
export function verifyWebhookSignature(
  secret: string,
  header: string | undefined,
  body: string,
  nowSeconds: number,
  toleranceSeconds = SIGNATURE_TOLERANCE_SECONDS,
): boolean {
  if (header === undefined) return false;
  const parts = new Map(header.split(',').map((part) => [part.slice(0, part.indexOf('=')), part.slice(part.indexOf('=') + 1)] as const));
  const timestamp = Number(parts.get('t'));
  const mac = parts.get('v1');
  if (!Number.isInteger(timestamp) || mac === undefined || Math.abs(nowSeconds - timestamp) > toleranceSeconds) return false;
  return constantTimeEqual(signWebhook(secret, timestamp, body), `t=${timestamp},v1=${mac}`);
}
