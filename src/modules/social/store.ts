// Persistence of blocks, contact lists and privacy settings (docs/social.md). No rules here: the
// service decides, the store reads and writes, recording each change's event in its transaction.
import type { Db, DbTransaction } from '../../platform/db.ts';
import { prepared } from '../../platform/db.ts';
import type { Emit, EventRecorder } from '../events/service.ts';
import { lockUserRow } from '../users/store.ts';
import type { Visibility } from './types.ts';

/** What `block` did. */
export type BlockOutcome = 'blocked' | 'already' | 'limit' | 'no_blocker' | 'no_target';
export type ContactsOutcome = { added: string[] } | 'limit' | 'no_owner';

export interface SocialFacts {
  presence: Visibility;
  lastSeen: Visibility;
  suspended: boolean;
}

export function createSocialStore(db: Db, events: EventRecorder) {
  const { query, dialect } = db;
  const blockersOf = prepared(db, (q, applicationId: string, userId: string) =>
    q.selectFrom('UserBlock').select('blockerId').where('applicationId', '=', applicationId).where('blockedId', '=', userId),
  );
  const factsOf = prepared(db, (q, applicationId: string, userIds: readonly string[]) =>
    q
      .selectFrom('User')
      .select(['userId', 'presenceVisibility', 'lastSeenVisibility', 'suspendedAt'])
      .where('applicationId', '=', applicationId)
      .where('userId', 'in', userIds),
  );
  const contactsOf = prepared(db, (q, applicationId: string, ownerId: string) =>
    q.selectFrom('UserContact').select('contactId').where('applicationId', '=', applicationId).where('ownerId', '=', ownerId),
  );

  async function exists(tx: DbTransaction, applicationId: string, userId: string): Promise<boolean> {
    const row = await tx.selectFrom('User').select('id').where('applicationId', '=', applicationId).where('userId', '=', userId).executeTakeFirst();
    return row !== undefined;
  }

  return {
    /** Adds the block unless the blocker already holds `limit`; emits `block.changed` when it is new. */
    async block(applicationId: string, blockerId: string, blockedId: string, limit: number, now: Date): Promise<BlockOutcome> {
      return events.transaction(applicationId, async (tx, emit) => {
        if ((await lockUserRow(db, tx, applicationId, blockerId, null)) === null) return 'no_blocker';
        if (!(await exists(tx, applicationId, blockedId))) return 'no_target';
        const present = await tx
          .selectFrom('UserBlock')
          .select('blockerId')
          .where('applicationId', '=', applicationId)
          .where('blockerId', '=', blockerId)
          .where('blockedId', '=', blockedId)
          .executeTakeFirst();
        if (present) return 'already';
        const held = await tx
          .selectFrom('UserBlock')
          .select((eb) => eb.fn.countAll<number>().as('count'))
          .where('applicationId', '=', applicationId)
          .where('blockerId', '=', blockerId)
          .executeTakeFirstOrThrow();
        if (Number(held.count) >= limit) return 'limit';
        await tx
          .insertInto('UserBlock')
          .values({ applicationId, blockerId, blockedId, createdAt: dialect.time(now) })
          .execute();
        emit({ type: 'block.changed', userId: blockerId, data: { blocker: blockerId, blockedUser: blockedId, active: true } });
        return 'blocked';
      });
    },

    /** Removes the block; false when there was none. */
    async unblock(applicationId: string, blockerId: string, blockedId: string): Promise<boolean> {
      return events.transaction(applicationId, async (tx, emit) => {
        const removed = await tx
          .deleteFrom('UserBlock')
          .where('applicationId', '=', applicationId)
          .where('blockerId', '=', blockerId)
          .where('blockedId', '=', blockedId)
          .executeTakeFirst();
        if (removed.numDeletedRows === 0n) return false;
        emit({ type: 'block.changed', userId: blockerId, data: { blocker: blockerId, blockedUser: blockedId, active: false } });
        return true;
      });
    },

    /** Whom `userId` blocks (`direction: 'blocking'`) or who blocks `userId` (`'blockedBy'`), oldest first. */
    async blockList(applicationId: string, userId: string, direction: 'blocking' | 'blockedBy'): Promise<string[]> {
      const [mine, theirs] = direction === 'blocking' ? (['blockerId', 'blockedId'] as const) : (['blockedId', 'blockerId'] as const);
      const rows = await db.rows<{ id: string }>(
        query
          .selectFrom('UserBlock')
          .select(`${theirs} as id`)
          .where('applicationId', '=', applicationId)
          .where(mine, '=', userId)
          .orderBy('createdAt')
          .orderBy(theirs),
      );
      return rows.map((row) => row.id);
    },

    /** The users who block `userId` (a viewer's hidden set). */
    async blockersOf(applicationId: string, userId: string): Promise<string[]> {
      return (await blockersOf(applicationId, userId)).map((row) => row.blockerId);
    },

    /** Privacy and suspension of these users (absent ids are not in the map). */
    async factsOf(applicationId: string, userIds: string[]): Promise<Map<string, SocialFacts>> {
      const facts = new Map<string, SocialFacts>();
      if (userIds.length === 0) return facts;
      for (const row of await factsOf(applicationId, userIds)) {
        facts.set(row.userId, {
          presence: row.presenceVisibility as Visibility,
          lastSeen: row.lastSeenVisibility as Visibility,
          suspended: row.suspendedAt !== null,
        });
      }
      return facts;
    },

    /** Every contact of `ownerId` (at most the per-user limit). */
    async contactIds(applicationId: string, ownerId: string): Promise<string[]> {
      return (await contactsOf(applicationId, ownerId)).map((row) => row.contactId);
    },

    /**
     * Adds the contacts that are not yet in the list, unless that would pass `limit`; `contactIds`
     * must all exist (checked by the caller). Emits `contacts.changed` with what was added.
     */
    async addContacts(applicationId: string, ownerId: string, contactIds: string[], limit: number, now: Date): Promise<ContactsOutcome> {
      return events.transaction(applicationId, async (tx, emit) => {
        if ((await lockUserRow(db, tx, applicationId, ownerId, null)) === null) return 'no_owner';
        const present = new Set(
          (
            await tx
              .selectFrom('UserContact')
              .select('contactId')
              .where('applicationId', '=', applicationId)
              .where('ownerId', '=', ownerId)
              .where('contactId', 'in', contactIds)
              .execute()
          ).map((row) => row.contactId),
        );
        const added = contactIds.filter((id) => !present.has(id));
        if (added.length === 0) return { added };
        const held = await tx
          .selectFrom('UserContact')
          .select((eb) => eb.fn.countAll<number>().as('count'))
          .where('applicationId', '=', applicationId)
          .where('ownerId', '=', ownerId)
          .executeTakeFirstOrThrow();
        if (Number(held.count) + added.length > limit) return 'limit';
        const at = dialect.time(now);
        await tx
          .insertInto('UserContact')
          .values(added.map((contactId) => ({ applicationId, ownerId, contactId, createdAt: at })))
          .execute();
        emit({ type: 'contacts.changed', userId: ownerId, data: { added, removed: [] } });
        return { added };
      });
    },

    /** Removes these contacts; the ids that were in the list (emitted as `contacts.changed`). */
    async removeContacts(applicationId: string, ownerId: string, contactIds: string[]): Promise<string[]> {
      return events.transaction(applicationId, async (tx, emit) => {
        const removed = (
          await tx
            .deleteFrom('UserContact')
            .where('applicationId', '=', applicationId)
            .where('ownerId', '=', ownerId)
            .where('contactId', 'in', contactIds)
            .returning('contactId')
            .execute()
        ).map((row) => row.contactId);
        if (removed.length > 0) {
          const order = new Map(contactIds.map((id, i) => [id, i]));
          removed.sort((a, b) => (order.get(a) ?? 0) - (order.get(b) ?? 0));
          emit({ type: 'contacts.changed', userId: ownerId, data: { added: [], removed } });
        }
        return removed;
      });
    },

    /** One page of `ownerId`'s contacts in contact-id order after `after`; `take` at most. */
    async contactsPage(applicationId: string, ownerId: string, after: string | null, take: number): Promise<string[]> {
      let page = query.selectFrom('UserContact').select('contactId').where('applicationId', '=', applicationId).where('ownerId', '=', ownerId);
      if (after !== null) page = page.where('contactId', '>', after);
      return (await db.rows<{ contactId: string }>(page.orderBy('contactId').limit(take))).map((row) => row.contactId);
    },

    async countContacts(applicationId: string, ownerId: string): Promise<number> {
      const [row] = await db.rows<{ count: number }>(
        query
          .selectFrom('UserContact')
          .select((eb) => eb.fn.countAll<number>().as('count'))
          .where('applicationId', '=', applicationId)
          .where('ownerId', '=', ownerId),
      );
      return Number(row?.count ?? 0);
    },

    /** Sets privacy; false when the user does not exist. */
    async setPrivacy(applicationId: string, userId: string, privacy: { presence: Visibility; lastSeen: Visibility }): Promise<boolean> {
      const updated = await query
        .updateTable('User')
        .set({ presenceVisibility: privacy.presence, lastSeenVisibility: privacy.lastSeen })
        .where('applicationId', '=', applicationId)
        .where('userId', '=', userId)
        .executeTakeFirst();
      return updated.numUpdatedRows === 1n;
    },

    /**
     * Removes `userId`'s blocks and contact entries in both directions, inside its deletion. The
     * users who had it as a contact see `contacts.changed` (their list changed).
     */
    async forgetUser(tx: DbTransaction, emit: Emit, applicationId: string, userId: string): Promise<void> {
      await tx
        .deleteFrom('UserBlock')
        .where('applicationId', '=', applicationId)
        .where((eb) => eb.or([eb('blockerId', '=', userId), eb('blockedId', '=', userId)]))
        .execute();
      await tx.deleteFrom('UserContact').where('applicationId', '=', applicationId).where('ownerId', '=', userId).execute();
      const owners = await tx
        .deleteFrom('UserContact')
        .where('applicationId', '=', applicationId)
        .where('contactId', '=', userId)
        .returning('ownerId')
        .execute();
      emit(...owners.map((row) => ({ type: 'contacts.changed' as const, userId: row.ownerId, data: { added: [], removed: [userId] } })));
    },
  };
}

export type SocialStore = ReturnType<typeof createSocialStore>;
