// Webhook endpoints as the CLI manages them (docs/events.md): add (the signing secret is shown once
// and stored sealed under the master key), list with delivery state, remove.
import { randomBytes } from 'node:crypto';
import type { Clock } from '../../platform/clock.ts';
import { deriveKey, seal } from '../../platform/crypto.ts';
import { domainId } from '../../platform/ids.ts';
import { splitCommaList } from '../../platform/lists.ts';
import type { EventsStore } from '../events/store.ts';
import { EVENT_TYPES, isEventType } from '../events/types.ts';
import type { WebhookState, WebhooksStore } from './store.ts';

export const MAX_WEBHOOKS_PER_APPLICATION = 10;
/** Running servers pick up endpoints added or removed by the CLI this often. */
export const WEBHOOKS_RELOAD_MS = 2_000;
const MAX_URL_LENGTH = 2_048;
/** The master-key derivation that seals webhook secrets (the dispatcher opens them). */
export const SECRET_PURPOSE = 'webhook-secrets';

export class WebhookRequestError extends Error {}

function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127(\.\d{1,3}){3}$/.test(hostname);
}

/** HTTPS anywhere; plain HTTP only to loopback addresses (docs/events.md). No credentials in the URL. */
export function parseWebhookUrl(input: string): URL {
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    throw new WebhookRequestError(`not a URL: ${input.slice(0, 100)}`);
  }
  if (input.length > MAX_URL_LENGTH) throw new WebhookRequestError(`the URL is longer than ${MAX_URL_LENGTH} characters`);
  if (url.username !== '' || url.password !== '') throw new WebhookRequestError('the URL must not carry credentials (the signature authenticates Locus)');
  if (url.protocol === 'https:') return url;
  if (url.protocol === 'http:' && isLoopback(url.hostname)) return url;
  throw new WebhookRequestError('webhook URLs must be https:// (plain http:// only to a loopback address)');
}

export function parseWebhookTypes(input: string | undefined): string[] | null {
  if (input === undefined) return null;
  const types = [...new Set(splitCommaList(input, { dropEmpty: true }))];
  const unknown = types.filter((type) => !isEventType(type));
  if (types.length === 0 || unknown.length > 0) throw new WebhookRequestError(`--types takes event types among ${EVENT_TYPES.join(', ')}`);
  return types;
}

export interface CreatedWebhook {
  webhookId: string;
  applicationId: string;
  url: string;
  types: string[] | null;
  /** Shown once: receivers verify signatures with it. */
  secret: string;
}

export interface WebhookListing extends Omit<WebhookState, 'secretSealed' | 'cursor' | 'lastSuccessAt' | 'lastErrorAt' | 'createdAt'> {
  createdAt: string;
  cursor: string;
  /** Events after the cursor not yet delivered (or abandoned). */
  pending: number;
  lastSuccessAt: string | null;
  lastErrorAt: string | null;
}

/** The CLI's side: add, list and remove endpoints. */
export class WebhooksAdmin {
  readonly #store: WebhooksStore;
  readonly #events: EventsStore;
  readonly #key: Buffer;

  constructor(
    private readonly deps: { store: WebhooksStore; eventLog: EventsStore; masterKey: Buffer; clock: Clock; applicationExists(id: string): Promise<boolean> },
  ) {
    this.#store = deps.store;
    this.#events = deps.eventLog;
    this.#key = deriveKey(deps.masterKey, SECRET_PURPOSE);
  }

  async add(applicationId: string, url: string, types: string[] | null): Promise<CreatedWebhook> {
    const parsed = parseWebhookUrl(url);
    if (!(await this.deps.applicationExists(applicationId))) throw new WebhookRequestError(`no application ${applicationId}`);
    if ((await this.#store.count(applicationId)) >= MAX_WEBHOOKS_PER_APPLICATION) {
      throw new WebhookRequestError(`an application has at most ${MAX_WEBHOOKS_PER_APPLICATION} webhooks`);
    }
    const id = domainId();
    const secret = `whsec_${randomBytes(32).toString('base64url')}`;
    // Delivery starts with the next event.
    const { last } = await this.#events.position(applicationId);
    await this.#store.insert({
      id,
      applicationId,
      url: parsed.href,
      types,
      secretSealed: seal(this.#key, Buffer.from(secret, 'utf8'), `webhook:${id}`),
      createdAt: new Date(this.deps.clock.now()),
      cursor: last,
    });
    return { webhookId: id, applicationId, url: parsed.href, types, secret };
  }

  async list(applicationId: string): Promise<WebhookListing[]> {
    const rows = await this.#store.list(applicationId);
    return Promise.all(
      rows.map(async ({ secretSealed: _sealed, ...row }) => ({
        ...row,
        createdAt: row.createdAt.toISOString(),
        cursor: String(row.cursor),
        pending: await this.#store.pending(row.applicationId, row.cursor, row.types),
        lastSuccessAt: row.lastSuccessAt?.toISOString() ?? null,
        lastErrorAt: row.lastErrorAt?.toISOString() ?? null,
      })),
    );
  }

  async remove(applicationId: string, webhookId: string): Promise<void> {
    if (!(await this.#store.remove(applicationId, webhookId))) throw new WebhookRequestError(`application ${applicationId} has no webhook ${webhookId}`);
  }
}
