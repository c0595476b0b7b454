// Reports, feedback and suspension (docs/social.md): what users tell the application about each other
// and about it, and the operator's power to suspend an account (reversibly) without deleting it.
import { ApiError } from '../../errors.ts';
import type { Clock } from '../../platform/clock.ts';
import { randomAlphanumeric } from '../../platform/ids.ts';
import { pageOf, type Page } from '../../platform/paging.ts';
import type { SocialService } from '../social/service.ts';
import type { TokensService } from '../tokens/service.ts';
import { userNotFound, type UsersService } from '../users/service.ts';
import type { Cursor, ModerationStore, StoredFeedback, StoredReport } from './store.ts';

/** A user sends at most this many reports per hour. */
export const MAX_REPORTS_PER_HOUR = 20;
const HOUR_MS = 60 * 60 * 1000;

export class ModerationService {
  constructor(private readonly deps: { store: ModerationStore; clock: Clock; users: UsersService; tokens: TokensService; social: SocialService }) {}

  async report(applicationId: string, reporterId: string, input: { userId: string; reason: string; details: string | null }): Promise<string> {
    if (input.userId === reporterId) {
      throw new ApiError('invalid_entity', 'A user cannot report itself', { field: 'userId', location: 'body', rule: 'not_self' });
    }
    if (!(await this.deps.users.exists(applicationId, input.userId))) throw userNotFound(input.userId);
    const now = this.deps.clock.now();
    const report: StoredReport = { id: randomAlphanumeric(22), reporterId, ...input, createdAt: new Date(now) };
    const outcome = await this.deps.store.insertReport(applicationId, report, MAX_REPORTS_PER_HOUR, new Date(now - HOUR_MS));
    if (outcome === null) throw userNotFound(reporterId);
    if (!outcome.stored) {
      const retryAfter = Math.max(1, Math.ceil((outcome.oldest.getTime() + HOUR_MS - now) / 1000));
      throw new ApiError(
        'rate_limited',
        `A user may send at most ${MAX_REPORTS_PER_HOUR} reports an hour`,
        { limit: MAX_REPORTS_PER_HOUR, retryAfterSeconds: retryAfter },
        { 'retry-after': String(retryAfter) },
      );
    }
    return report.id;
  }

  async reports(applicationId: string, options: { userId: string | null; limit: number; after: Cursor }): Promise<Page<StoredReport>> {
    return pageOf(await this.deps.store.reports(applicationId, options.userId, options.after, options.limit + 1), options.limit);
  }

  async sendFeedback(applicationId: string, userId: string, input: { title: string; description: string }): Promise<string> {
    const feedback: StoredFeedback = { id: randomAlphanumeric(22), userId, ...input, createdAt: new Date(this.deps.clock.now()) };
    await this.deps.store.insertFeedback(applicationId, feedback);
    return feedback.id;
  }

  async feedback(applicationId: string, options: { limit: number; after: Cursor }): Promise<Page<StoredFeedback>> {
    return pageOf(await this.deps.store.feedback(applicationId, options.after, options.limit + 1), options.limit);
  }

  /**
   * Suspends the user (idempotent): its tokens are refused from the next request on every
   * instance, its streams end (on its `user.suspended` event), it reads `blocked: true`.
   */
  async suspend(applicationId: string, userId: string, reason: string): Promise<void> {
    await this.#setSuspension(applicationId, userId, reason);
  }

  /** Lifts a suspension (idempotent): tokens neither expired nor revoked work again. */
  async reinstate(applicationId: string, userId: string): Promise<void> {
    await this.#setSuspension(applicationId, userId, null);
  }

  async #setSuspension(applicationId: string, userId: string, reason: string | null): Promise<void> {
    const outcome = await this.deps.store.setSuspension(applicationId, userId, reason, new Date(this.deps.clock.now()));
    if (outcome === null) throw userNotFound(userId);
    // Evicted after the commit, here and on every instance: the next request reloads the state.
    this.deps.users.changed(applicationId, [userId]);
    this.deps.tokens.evictUser(applicationId, userId);
    this.deps.social.evict({ applicationId, users: [userId] });
  }
}
