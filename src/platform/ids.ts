// Random identifiers drawn from the CSPRNG without modulo bias.
import { randomBytes } from 'node:crypto';

const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
// Largest multiple of 62 that fits in a byte: bytes at or above it are redrawn.
const UNBIASED_LIMIT = 256 - (256 % ALPHANUMERIC.length);

export function randomAlphanumeric(length: number): string {
  let out = '';
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      if (byte >= UNBIASED_LIMIT) continue;
      out += ALPHANUMERIC[byte % ALPHANUMERIC.length];
      if (out.length === length) break;
    }
  }
  return out;
}

/** `XXXXX-XXXXX-XXXXX-XXXXX`: the mitter.io form of server-generated ids. */
export function domainId(): string {
  return [0, 1, 2, 3].map(() => randomAlphanumeric(5)).join('-');
}

export const DOMAIN_ID_PATTERN = /^[A-Za-z0-9]{5}(-[A-Za-z0-9]{5}){3}$/;
