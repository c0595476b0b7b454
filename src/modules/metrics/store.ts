// The database reads behind the `/metrics` gauges: read at scrape time, so every instance reports
// the same deployment-wide figures (whichever instance delivers the webhooks).
import type { Db } from '../../platform/db.ts';

/** Beyond this many, gauges stop listing applications and webhooks (keeps a scrape bounded). */
export const MAX_SERIES = 1_000;

export function createMetricsStore(db: Db) {
  const { query } = db;
  return {
    async eventLogHeads(): Promise<Array<{ applicationId: string; head: number }>> {
      const rows = await db.rows<{ applicationId: string; last: number }>(
        query.selectFrom('EventSequence').select(['applicationId', 'last']).orderBy('applicationId').limit(MAX_SERIES),
      );
      return rows.map((row) => ({ applicationId: row.applicationId, head: Number(row.last) }));
    },

    async webhookBacklogs(): Promise<Array<{ applicationId: string; webhookId: string; backlog: number }>> {
      const rows = await db.rows<{ id: string; applicationId: string; cursor: number; last: number | null }>(
        query
          .selectFrom('Webhook as w')
          .leftJoin('EventSequence as s', 's.applicationId', 'w.applicationId')
          .select(['w.id', 'w.applicationId', 'w.cursor', 's.last'])
          .orderBy('w.id')
          .limit(MAX_SERIES),
      );
      return rows.map((row) => ({ applicationId: row.applicationId, webhookId: row.id, backlog: Math.max(0, Number(row.last ?? 0) - Number(row.cursor)) }));
    },
  };
}
