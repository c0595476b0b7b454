// Device (QR) login (docs/social.md): a new device asks for a link and shows its code as a QR code; a
// logged-in user approves the code; the new device collects its own fresh token exactly once, by
// long-poll or SSE. Approval wakes the waiting requests on every instance through the bus.
import { createHash, timingSafeEqual } from 'node:crypto';
import QRCode from 'qrcode';
import { ApiError } from '../../errors.ts';
import type { Bus } from '../../platform/bus.ts';
import type { Clock } from '../../platform/clock.ts';
import { randomAlphanumeric } from '../../platform/ids.ts';
import type { Kv } from '../../platform/kv.ts';
import type { Timers } from '../../platform/timers.ts';
import type { ClientInfo, IssuedToken, TokensService } from '../tokens/service.ts';
import type { DeviceLinksStore, DeviceLinkState } from './store.ts';

/** A link lives this long. */
export const DEVICE_LINK_TTL_MS = 2 * 60 * 1000;
/** A long-poll waits at most this long for the approval. */
export const MAX_POLL_WAIT_MS = 30_000;
/** Links one client address may start per application per minute. */
export const MAX_LINKS_PER_ADDRESS_PER_MINUTE = 10;
/** 32 alphanumerics: log2(62^32) ≈ 190 bits (the code and the poll token). */
const SECRET_LENGTH = 32;
export const DEVICE_LINK_APPROVED_TOPIC = 'device-links.approved';

export interface NewLink {
  linkId: string;
  pollToken: string;
  code: string;
  qrSvg: string;
  expiresAt: number;
}

export type Collected = { status: 'pending' } | { status: 'approved'; userToken: IssuedToken };

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

function gone(): ApiError {
  return new ApiError('entity_not_found', 'No such device link: unknown, expired, already used, or a wrong poll token', { entityType: 'deviceLink' });
}

export class DeviceLinksService {
  readonly #waiters = new Map<string, Set<() => void>>();

  constructor(private readonly deps: { store: DeviceLinksStore; clock: Clock; kv: Kv; bus: Bus; tokens: TokensService; timers: Timers }) {
    deps.bus.subscribe(DEVICE_LINK_APPROVED_TOPIC, (message) => {
      const linkId = (message as { linkId?: unknown }).linkId;
      if (typeof linkId === 'string') for (const wake of this.#waiters.get(linkId) ?? []) wake();
    });
  }

  /** Starts a link for a device that is not logged in; 429 past the per-address budget. */
  async create(applicationId: string, client: ClientInfo): Promise<NewLink> {
    await this.deps.tokens.settings(applicationId); // an unknown application is a 401
    const window = `device-links:${applicationId}:${client.address ?? 'unknown'}`;
    if ((await this.deps.kv.increment(window, 60_000)) > MAX_LINKS_PER_ADDRESS_PER_MINUTE) {
      throw new ApiError(
        'rate_limited',
        `At most ${MAX_LINKS_PER_ADDRESS_PER_MINUTE} device links per minute from one address`,
        { limit: MAX_LINKS_PER_ADDRESS_PER_MINUTE, retryAfterSeconds: 60 },
        { 'retry-after': '60' },
      );
    }
    const now = this.deps.clock.now();
    const link = { linkId: randomAlphanumeric(22), pollToken: randomAlphanumeric(SECRET_LENGTH), code: randomAlphanumeric(SECRET_LENGTH) };
    const expiresAt = now + DEVICE_LINK_TTL_MS;
    await this.deps.store.insert({
      id: link.linkId,
      applicationId,
      codeHash: sha256(link.code),
      pollTokenHash: sha256(link.pollToken),
      address: client.address?.slice(0, 64) ?? null,
      userAgent: client.userAgent?.slice(0, 512) ?? null,
      createdAt: new Date(now),
      expiresAt: new Date(expiresAt),
    });
    const qrSvg = await QRCode.toString(link.code, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
    return { ...link, qrSvg, expiresAt };
  }

  /** A logged-in user approves the code shown by the new device (once; 404 when it is not pending). */
  async approve(applicationId: string, userId: string, code: string, deviceName: string | null): Promise<void> {
    const linkId = await this.deps.store.approve(applicationId, sha256(code), userId, deviceName, new Date(this.deps.clock.now()));
    if (linkId === null) throw new ApiError('entity_not_found', 'No pending device link has this code', { entityType: 'deviceLink' });
    this.deps.bus.publish(DEVICE_LINK_APPROVED_TOPIC, { linkId });
  }

  /** The link's state for the device holding it: pending, or (exactly once) its token. */
  async collect(linkId: string, pollToken: string, client: ClientInfo): Promise<Collected> {
    const link = await this.#check(linkId, pollToken);
    if (link.approvedUserId === null) return { status: 'pending' };
    if (!(await this.deps.store.consume(link.id, new Date(this.deps.clock.now())))) throw gone();
    // The device's own fresh session: the application's default lifetime; its session limit applies.
    const device = { userAgent: link.userAgent ?? client.userAgent, address: link.address ?? client.address };
    const userToken = await this.deps.tokens.issue(link.applicationId, link.approvedUserId, { ttl: null, force: true }, device);
    return { status: 'approved', userToken };
  }

  /** Waits (at most `waitMs`, and never past the link's expiry) for the approval, then collects. */
  async poll(linkId: string, pollToken: string, waitMs: number, client: ClientInfo): Promise<Collected> {
    const first = await this.collect(linkId, pollToken, client);
    if (first.status !== 'pending' || waitMs <= 0) return first;
    const link = await this.#check(linkId, pollToken);
    await this.waitForApproval(linkId, Math.min(waitMs, link.expiresAt.getTime() - this.deps.clock.now())).done;
    return this.collect(linkId, pollToken, client);
  }

  /** How long the link has left (0 once it is gone). */
  async remainingMs(linkId: string): Promise<number> {
    const link = await this.deps.store.find(linkId);
    return link === null ? 0 : Math.max(0, link.expiresAt.getTime() - this.deps.clock.now());
  }

  /** Resolves on the link's approval (from any instance) or after `ms`; `cancel` stops waiting. */
  waitForApproval(linkId: string, ms: number): { done: Promise<void>; cancel: () => void } {
    let cancel: () => void = () => undefined;
    const done = new Promise<void>((resolve) => {
      let waiters = this.#waiters.get(linkId);
      if (!waiters) this.#waiters.set(linkId, (waiters = new Set()));
      const wake = () => {
        this.deps.timers.clear(timer);
        waiters.delete(wake);
        if (waiters.size === 0) this.#waiters.delete(linkId);
        resolve();
      };
      const timer = this.deps.timers.set(wake, Math.max(0, ms));
      waiters.add(wake);
      cancel = wake;
    });
    return { done, cancel };
  }

  /** The link, if it exists, is unexpired and unconsumed, and the poll token is its own; else 404. */
  async #check(linkId: string, pollToken: string): Promise<DeviceLinkState> {
    const link = linkId.length <= 64 ? await this.deps.store.find(linkId) : null;
    if (link === null) throw gone();
    const presented = Buffer.from(sha256(pollToken), 'hex');
    const expected = Buffer.from(link.pollTokenHash, 'hex');
    if (presented.length !== expected.length || !timingSafeEqual(presented, expected)) throw gone();
    if (link.consumed || this.deps.clock.now() >= link.expiresAt.getTime()) throw gone();
    return link;
  }
}
