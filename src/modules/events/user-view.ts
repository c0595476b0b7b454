// What one user's own stream carries (docs/events.md, docs/social.md): presence and profile changes of
// the users it watches and of its contacts, its own token's revocation, the blocks it is part of,
// changes to its contact list, and its own suspension (after which the stream ends).
//
// The stream keeps its contacts and the users who block it up to date from the log itself, in log
// order, so an event is judged by the relations as they were when it happened: a presence that
// follows a block in the log never reaches the blocked user. Privacy is not in the log: it is
// judged as the events are written, from the social cache (which every change evicts).
import type { Principal } from '../../auth/principal.ts';
import type { SocialService } from '../social/service.ts';
import type { LoggedEvent } from './store.ts';
import { WATCHED_TYPES, type EventType } from './types.ts';

/** The types a user stream reads from the log (a resume reads no others). */
export const USER_STREAM_TYPES: EventType[] = [...WATCHED_TYPES, 'token.revoked', 'block.changed', 'contacts.changed', 'user.suspended'];

export interface UserViewOptions {
  principal: Principal;
  applicationId: string;
  userId: string;
  /** The users in `presenceOf`. */
  watched: ReadonlySet<string>;
  /** The token the stream was opened with (null with sudo). */
  tokenId: string | null;
  social: SocialService;
}

function dataOf(event: LoggedEvent): Record<string, unknown> {
  return (JSON.parse(event.json) as { data: Record<string, unknown> }).data;
}

const idsIn = (value: unknown): string[] => (Array.isArray(value) ? value.filter((id): id is string => typeof id === 'string') : []);

export class UserStreamView {
  readonly #options: UserViewOptions;
  readonly #contacts: Set<string>;
  /** Users who block this one; only a user reading with its own token is filtered (sudo sees the truth). */
  readonly #blockers: Set<string>;
  readonly #filtered: boolean;

  private constructor(options: UserViewOptions, contacts: string[], blockers: Iterable<string>) {
    this.#options = options;
    this.#contacts = new Set(contacts);
    this.#filtered = options.principal.kind === 'user' && options.principal.via === 'token';
    this.#blockers = new Set(this.#filtered ? blockers : []);
  }

  static async open(options: UserViewOptions): Promise<UserStreamView> {
    const { social, applicationId, userId } = options;
    const [contacts, blockers] = await Promise.all([social.contactIds(applicationId, userId), social.blockersOf(applicationId, userId)]);
    return new UserStreamView(options, contacts, blockers);
  }

  /** Called for every event of the application, in log order: whether the stream carries it. */
  matches(event: LoggedEvent): boolean {
    const me = this.#options.userId;
    switch (event.type) {
      case 'presence':
      case 'profile.changed':
        return event.userId !== null && (this.#options.watched.has(event.userId) || this.#contacts.has(event.userId)) && !this.#blockers.has(event.userId);
      case 'token.revoked':
        return this.#isOwnRevocation(event);
      case 'block.changed': {
        const data = dataOf(event);
        if (data.blockedUser === me && typeof data.blocker === 'string' && this.#filtered) {
          if (data.active === true) this.#blockers.add(data.blocker);
          else this.#blockers.delete(data.blocker);
        }
        return data.blockedUser === me || data.blocker === me;
      }
      case 'contacts.changed': {
        if (event.userId !== me) return false;
        const data = dataOf(event);
        for (const id of idsIn(data.added)) this.#contacts.add(id);
        for (const id of idsIn(data.removed)) this.#contacts.delete(id);
        return true;
      }
      case 'user.suspended':
        return event.userId === me;
      default:
        return false;
    }
  }

  /** Just before an event is written: a presence hidden by its user's privacy (or suspension) is not. */
  async admit(event: LoggedEvent): Promise<boolean> {
    if (event.type !== 'presence' || event.userId === null) return true;
    return (await this.#options.social.viewpoint(this.#options.principal, [event.userId])).presence(event.userId);
  }

  /** The stream ends after its own token's revocation, or its user's suspension. */
  endsWith(event: LoggedEvent): boolean {
    return this.#isOwnRevocation(event) || (event.type === 'user.suspended' && event.userId === this.#options.userId);
  }

  #isOwnRevocation(event: LoggedEvent): boolean {
    const { tokenId, userId } = this.#options;
    return event.type === 'token.revoked' && event.userId === userId && tokenId !== null && dataOf(event).tokenId === tokenId;
  }
}
