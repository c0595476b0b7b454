// The operator console's sign-in (docs/console.md). The CLI makes a one-time login link; opening it
// opens a browser session (an HttpOnly, SameSite=Strict cookie) for SESSION_TTL_MS. Secrets are 256
// random bits, stored only as SHA-256; a link opens once (a conditional update), and
// `console logout-all` ends every session. Nothing here is per application: the console is for
// whoever runs the deployment.
import { randomBytes } from 'node:crypto';
import type { Clock } from '../../platform/clock.ts';
import { sha256Hex } from '../../platform/crypto.ts';
import { randomAlphanumeric } from '../../platform/ids.ts';
import type { ConsoleStore } from './store.ts';

export const SESSION_TTL_MS = 8 * 60 * 60 * 1000;
export const DEFAULT_LINK_TTL_MS = 10 * 60 * 1000;
export const MAX_LINK_TTL_MS = 24 * 60 * 60 * 1000;
/** The session cookie's name; its path is /console. */
export const SESSION_COOKIE = 'locus_console';

const SECRET = /^[A-Za-z0-9_-]{43}$/;

const newSecret = () => randomBytes(32).toString('base64url');

export class ConsoleService {
  constructor(private readonly deps: { store: ConsoleStore; clock: Clock }) {}

  /** A login link's secret, valid for `ttlMs` and for one opening. */
  async createLoginLink(ttlMs = DEFAULT_LINK_TTL_MS): Promise<{ secret: string; expiresAt: Date }> {
    if (!Number.isInteger(ttlMs) || ttlMs < 1_000 || ttlMs > MAX_LINK_TTL_MS) throw new RangeError('the link lives 1 s to 24 h');
    const now = new Date(this.deps.clock.now());
    const secret = newSecret();
    const expiresAt = new Date(now.getTime() + ttlMs);
    await this.deps.store.prune(now);
    await this.deps.store.insert({ id: randomAlphanumeric(22), kind: 'link', secretHash: sha256Hex(secret), createdAt: now, expiresAt });
    return { secret, expiresAt };
  }

  /** Opens a session with a login link's secret: its secret, or null when the link is unknown, used or expired. */
  async login(linkSecret: string): Promise<{ secret: string; expiresAt: Date } | null> {
    if (!SECRET.test(linkSecret)) return null;
    const now = new Date(this.deps.clock.now());
    if (!(await this.deps.store.useLink(sha256Hex(linkSecret), now))) return null;
    const secret = newSecret();
    const expiresAt = new Date(now.getTime() + SESSION_TTL_MS);
    await this.deps.store.insert({ id: randomAlphanumeric(22), kind: 'session', secretHash: sha256Hex(secret), createdAt: now, expiresAt });
    return { secret, expiresAt };
  }

  /** The session a cookie's secret names, or null. */
  async session(secret: string | undefined): Promise<{ sessionId: string } | null> {
    if (secret === undefined || !SECRET.test(secret)) return null;
    const found = await this.deps.store.findSession(sha256Hex(secret), new Date(this.deps.clock.now()));
    return found ? { sessionId: found.id } : null;
  }

  async logout(sessionId: string): Promise<void> {
    await this.deps.store.deleteSession(sessionId);
  }

  async logoutAll(): Promise<number> {
    return this.deps.store.logoutAll();
  }
}
