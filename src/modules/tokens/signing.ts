// User-token signing (docs/tokens.md): compact JWS, HS512, `kid` in the header, signing keys derived
// from the master key (HKDF, one key per kid) so keys rotate without storing any secret. Tokens
// carry no expiry: expiry and revocation are server-side state (service.ts).
//
// Clients decode the payload with plain base64 (`atob`), which rejects `-` and `_`. For ASCII JSON
// a base64url character is `-` or `_` only where the third byte of a 3-byte group is one of
// `> ? ~ DEL`; user ids, application ids and token ids never contain those, so payloads are clean.
// `sign` still checks, and shifts the alignment with a filler claim if a future claim breaks it.
import type { JWT } from '@fastify/jwt';
import { ApiError } from '../../errors.ts';
import { deriveKey } from '../../platform/crypto.ts';

export const TOKEN_ISSUER = 'locus';
/**
 * Tokens whose signature verified, remembered by their exact text: HMAC-SHA512 is most of a
 * token-authenticated request's verification cost, and the same token arrives again and again.
 * Keys are never withdrawn (old kids verify until their tokens expire), so an entry stays true.
 */
export const MAX_REMEMBERED_SIGNATURES = 10_000;
const KID_PATTERN = /^k([1-9][0-9]{0,5})$/;

export interface TokenClaims {
  userTokenId: string;
  applicationId: string;
  userId: string;
}

export interface VerifiedToken extends TokenClaims {
  kid: string;
}

export function kidNumber(kid: string): number | null {
  const match = KID_PATTERN.exec(kid);
  return match ? Number(match[1]) : null;
}

function malformed(message: string): ApiError {
  return new ApiError('authorization_exception', message, { check: 'user_token' });
}

/** The payload segment a plain base64 decoder (atob) can read: no base64url-only characters. */
export function isAtobSafe(segment: string): boolean {
  return !segment.includes('-') && !segment.includes('_');
}

export class TokenSigner {
  readonly #jwt: JWT;
  readonly #masterKey: Buffer;
  readonly #keys = new Map<string, string>();
  readonly #verified = new Map<string, VerifiedToken>();

  constructor(jwt: JWT, masterKey: Buffer) {
    this.#jwt = jwt;
    this.#masterKey = masterKey;
  }

  /** The HMAC key of one kid (derived once, then kept). */
  keyFor(kid: string): string {
    let key = this.#keys.get(kid);
    if (key === undefined) {
      key = deriveKey(this.#masterKey, `user-token-signing:${kid}`).toString('base64');
      this.#keys.set(kid, key);
    }
    return key;
  }

  sign(claims: TokenClaims, kid: string, issuedAtSeconds: number): string {
    const key = this.keyFor(kid);
    for (let filler = 0; filler < 3; filler++) {
      const payload = { iss: TOKEN_ISSUER, ...claims, iat: issuedAtSeconds, ...(filler > 0 ? { f: ' '.repeat(filler) } : {}) };
      const token = this.#jwt.sign(payload, { key, kid, algorithm: 'HS512' });
      if (isAtobSafe(token.split('.')[1] ?? '')) return token;
    }
    throw new Error('could not mint a token whose payload plain base64 decoders can read');
  }

  /**
   * Checks the signature with the key of the header's kid; `knownKid(n)` says whether kid n has
   * ever been current (so forged kids cannot fill the key cache). Throws a 401 ApiError.
   */
  verify(token: string, knownKid: (n: number) => boolean): VerifiedToken {
    const remembered = this.#verified.get(token);
    if (remembered !== undefined) return remembered;
    const [headerSegment, payloadSegment, signature, extra] = token.split('.');
    if (headerSegment === undefined || payloadSegment === undefined || signature === undefined || extra !== undefined || token.length > 2048) {
      throw malformed('The user token is not a compact JWS');
    }
    let kid: unknown;
    try {
      kid = (JSON.parse(Buffer.from(headerSegment, 'base64url').toString('utf8')) as { kid?: unknown }).kid;
    } catch {
      throw malformed('The user token header is not JSON');
    }
    const n = typeof kid === 'string' ? kidNumber(kid) : null;
    if (typeof kid !== 'string' || n === null || !knownKid(n)) throw malformed('The user token was not signed by this server');
    let payload: Record<string, unknown>;
    try {
      payload = this.#jwt.verify(token, { key: this.keyFor(kid), algorithms: ['HS512'], allowedIss: TOKEN_ISSUER });
    } catch {
      throw malformed('The user token signature does not verify');
    }
    const { userTokenId, applicationId, userId } = payload;
    if (typeof userTokenId !== 'string' || typeof applicationId !== 'string' || typeof userId !== 'string') {
      throw malformed('The user token lacks its claims');
    }
    const verified = { kid, userTokenId, applicationId, userId };
    if (this.#verified.size >= MAX_REMEMBERED_SIGNATURES) {
      const oldest = this.#verified.keys().next();
      if (!oldest.done) this.#verified.delete(oldest.value);
    }
    this.#verified.set(token, verified);
    return verified;
  }
}
