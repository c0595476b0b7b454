// Persistence of reports, feedback and suspensions (docs/social.md). Reports and feedback outlive
// the users they name: they are the application's moderation record.
import { sql } from 'kysely';
import type { Db } from '../../platform/db.ts';
import { readTime } from '../../platform/dialect.ts';
import type { EventRecorder } from '../events/service.ts';
import { lockUserRow } from '../users/store.ts';

export interface StoredReport {
  id: string;
  reporterId: string;
  userId: string;
  reason: string;
  details: string | null;
  createdAt: Date;
}

export interface StoredFeedback {
  id: string;
  userId: string;
  title: string;
  description: string;
  createdAt: Date;
}

export type Cursor = { createdAt: Date; id: string } | null;

export function createModerationStore(db: Db, events: EventRecorder) {
  const { query, dialect } = db;

  /** The condition "after the cursor" of a newest-first page (parameterised; both tables have createdAt and id). */
  function olderThan(cursor: NonNullable<Cursor>) {
    const at = dialect.time(cursor.createdAt);
    return sql<boolean>`("createdAt" < ${at} OR ("createdAt" = ${at} AND "id" < ${cursor.id}))`;
  }

  return {
    /**
     * Records a report unless the reporter already sent `limit` since `windowStart` (its user row
     * lock serialises its reports, so the count cannot be raced). The oldest report's time in the
     * window when refused; null when the reporter does not exist.
     */
    async insertReport(
      applicationId: string,
      report: StoredReport,
      limit: number,
      windowStart: Date,
    ): Promise<{ stored: true } | { stored: false; oldest: Date } | null> {
      return db.transaction(async (tx) => {
        if ((await lockUserRow(db, tx, applicationId, report.reporterId, null)) === null) return null;
        const recent = await tx
          .selectFrom('Report')
          .select('createdAt')
          .where('applicationId', '=', applicationId)
          .where('reporterId', '=', report.reporterId)
          .where('createdAt', '>', dialect.time(windowStart))
          .orderBy('createdAt')
          .limit(limit)
          .execute();
        if (recent.length >= limit) return { stored: false, oldest: readTime(recent[0]!.createdAt) };
        await tx
          .insertInto('Report')
          .values({ ...report, applicationId, createdAt: dialect.time(report.createdAt) })
          .execute();
        return { stored: true };
      });
    },

    async reports(applicationId: string, userId: string | null, cursor: Cursor, take: number): Promise<StoredReport[]> {
      let select = query
        .selectFrom('Report')
        .select(['id', 'reporterId', 'userId', 'reason', 'details', 'createdAt'])
        .where('applicationId', '=', applicationId);
      if (userId !== null) select = select.where('userId', '=', userId);
      if (cursor !== null) select = select.where(olderThan(cursor));
      const rows = await db.rows<Omit<StoredReport, 'createdAt'> & { createdAt: Date | string }>(
        select.orderBy('createdAt', 'desc').orderBy('id', 'desc').limit(take),
      );
      return rows.map((row) => ({ ...row, createdAt: readTime(row.createdAt) }));
    },

    async insertFeedback(applicationId: string, feedback: StoredFeedback): Promise<void> {
      await query
        .insertInto('Feedback')
        .values({ ...feedback, applicationId, createdAt: dialect.time(feedback.createdAt) })
        .execute();
    },

    async feedback(applicationId: string, cursor: Cursor, take: number): Promise<StoredFeedback[]> {
      let select = query.selectFrom('Feedback').select(['id', 'userId', 'title', 'description', 'createdAt']).where('applicationId', '=', applicationId);
      if (cursor !== null) select = select.where(olderThan(cursor));
      const rows = await db.rows<Omit<StoredFeedback, 'createdAt'> & { createdAt: Date | string }>(
        select.orderBy('createdAt', 'desc').orderBy('id', 'desc').limit(take),
      );
      return rows.map((row) => ({ ...row, createdAt: readTime(row.createdAt) }));
    },

    /**
     * Suspends (`reason`) or reinstates (null) a user, with its event. 'unchanged' when it already
     * was; null when the user does not exist.
     */
    async setSuspension(applicationId: string, userId: string, reason: string | null, now: Date): Promise<'changed' | 'unchanged' | null> {
      return events.transaction(applicationId, async (tx, emit) => {
        if ((await lockUserRow(db, tx, applicationId, userId, null)) === null) return null;
        const update = tx.updateTable('User').where('applicationId', '=', applicationId).where('userId', '=', userId);
        const changed =
          reason === null
            ? await update.set({ suspendedAt: null, suspensionReason: null }).where('suspendedAt', 'is not', null).executeTakeFirst()
            : await update
                .set({ suspendedAt: dialect.time(now), suspensionReason: reason })
                .where('suspendedAt', 'is', null)
                .executeTakeFirst();
        if (changed.numUpdatedRows === 0n) return 'unchanged';
        emit(reason === null ? { type: 'user.reinstated', userId, data: {} } : { type: 'user.suspended', userId, data: { reason } });
        return 'changed';
      });
    },
  };
}

export type ModerationStore = ReturnType<typeof createModerationStore>;
