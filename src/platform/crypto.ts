// Cryptographic primitives used across Locus: secret sealing under the master key, digests,
// and constant-time comparison.
import { createCipheriv, createDecipheriv, createHash, createHmac, createSecretKey, hkdfSync, type KeyObject, randomBytes, timingSafeEqual } from 'node:crypto';

/** Derives an independent 32-byte key for one purpose from the master key (HKDF-SHA256). */
export function deriveKey(masterKey: Buffer, purpose: string): Buffer {
  return Buffer.from(hkdfSync('sha256', masterKey, Buffer.alloc(0), `locus:${purpose}`, 32));
}

const SEALED_PREFIX = 'v1';

/**
 * AES-256-GCM. `context` is bound as additional authenticated data, so a sealed value copied to
 * another row (another context) no longer opens.
 */
export function seal(key: Buffer, plaintext: Buffer, context: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(context, 'utf8'));
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return [SEALED_PREFIX, iv, cipher.getAuthTag(), ciphertext].map((part) => (typeof part === 'string' ? part : part.toString('base64url'))).join('.');
}

export function open(key: Buffer, sealed: string, context: string): Buffer {
  const [version, iv, tag, ciphertext] = sealed.split('.');
  if (version !== SEALED_PREFIX || iv === undefined || tag === undefined || ciphertext === undefined) {
    throw new Error('sealed value has an unknown format');
  }
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
  decipher.setAAD(Buffer.from(context, 'utf8'));
  decipher.setAuthTag(Buffer.from(tag, 'base64url'));
  return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]);
}

export function md5Base64(data: Buffer): string {
  return createHash('md5').update(data).digest('base64');
}

/** SHA-1's block size: HMAC hashes a longer key down before use (RFC 2104). */
const SHA1_BLOCK_BYTES = 64;

/**
 * An HMAC-SHA1 key prepared once for many digests: a key longer than SHA-1's block is hashed down
 * here, as HMAC would do on every digest (mitter.io access secrets are 128 bytes). The digests are
 * the same as with the raw key.
 */
export function hmacSha1Key(secret: Buffer): KeyObject {
  return createSecretKey(secret.length > SHA1_BLOCK_BYTES ? createHash('sha1').update(secret).digest() : secret);
}

export function hmacSha1Base64(key: Buffer | KeyObject, message: string): string {
  return createHmac('sha1', key).update(message, 'utf8').digest('base64');
}

export function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Compares two strings in time that depends only on their lengths, never on their contents. */
export function constantTimeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a, 'utf8');
  const right = Buffer.from(b, 'utf8');
  if (left.length !== right.length) {
    timingSafeEqual(left, left);
    return false;
  }
  return timingSafeEqual(left, right);
}
