// Persistence of user tokens and passwords. No rules here: the service decides.
import type { Db, DbTransaction } from '../../platform/db.ts';
import { prepared } from '../../platform/db.ts';
import { readOptionalTime, readTime } from '../../platform/dialect.ts';
import type { Emit, EventRecorder } from '../events/service.ts';
import type { EventDraft } from '../events/store.ts';
import { lockUserRow } from '../users/store.ts';
import { kidNumber } from './signing.ts';

/** ServerMeta key holding the kid new tokens are signed with. */
const SIGNING_KID_KEY = 'tokenSigningKid';

export interface TokenRow {
  id: string;
  applicationId: string;
  userId: string;
  kid: string;
  issuedAt: Date;
  expiresAt: Date;
  revokedAt: Date | null;
  lastUsedAt: Date;
  userAgent: string | null;
  address: string | null;
}

/** A token as verification needs it: with whether its user is suspended. */
export interface TokenState extends TokenRow {
  suspended: boolean;
}

export type NewTokenRow = Omit<TokenRow, 'revokedAt'> & { logoutTokenHash: string };

const TOKEN_COLUMNS = ['id', 'applicationId', 'userId', 'kid', 'issuedAt', 'expiresAt', 'revokedAt', 'lastUsedAt', 'userAgent', 'address'] as const;

type StoredTokenRow = Omit<TokenRow, 'issuedAt' | 'expiresAt' | 'revokedAt' | 'lastUsedAt'> & {
  issuedAt: Date | string;
  expiresAt: Date | string;
  revokedAt: Date | string | null;
  lastUsedAt: Date | string;
};

function toToken(row: StoredTokenRow): TokenRow {
  return {
    ...row,
    issuedAt: readTime(row.issuedAt),
    expiresAt: readTime(row.expiresAt),
    revokedAt: readOptionalTime(row.revokedAt),
    lastUsedAt: readTime(row.lastUsedAt),
  };
}

/** Thrown inside the issue transaction to roll it back when the session limit refuses. */
export class SessionLimitReached extends Error {}

const revokedEvents = (userId: string, tokenIds: string[]): EventDraft[] => tokenIds.map((tokenId) => ({ type: 'token.revoked', userId, data: { tokenId } }));

/** The signing kid (ServerMeta): shared by the server and the CLI's `token-keys`. */
export function createSigningKidStore(db: Db) {
  return {
    /** The kid new tokens are signed with: `k1` until the first rotation. */
    async signingKid(): Promise<string> {
      const [row] = await db.rows<{ value: string }>(db.query.selectFrom('ServerMeta').select('value').where('key', '=', SIGNING_KID_KEY));
      return row?.value ?? 'k1';
    },

    /** Moves signing to the next kid (`k<n+1>`) and returns it. */
    async rotateSigningKid(): Promise<string> {
      return db.transaction(async (tx) => {
        const row = await db.dialect.forUpdate(tx.selectFrom('ServerMeta').select('value').where('key', '=', SIGNING_KID_KEY)).executeTakeFirst();
        const kid = `k${(kidNumber(row?.value ?? 'k1') ?? 1) + 1}`;
        await tx
          .insertInto('ServerMeta')
          .values({ key: SIGNING_KID_KEY, value: kid })
          .onConflict((oc) => oc.column('key').doUpdateSet({ value: kid }))
          .execute();
        return kid;
      });
    },
  };
}

/** Issuing and revoking record token.issued / token.revoked events (docs/events.md) with the change. */
export function createTokensStore(db: Db, events: EventRecorder) {
  const { query, dialect } = db;
  /** The token, and whether its user is suspended (one join, on a cache miss only). */
  const tokenById = prepared(db, (q, id: string) =>
    q
      .selectFrom('UserToken as t')
      .leftJoin('User as u', (join) => join.onRef('u.applicationId', '=', 't.applicationId').onRef('u.userId', '=', 't.userId'))
      .select([...TOKEN_COLUMNS.map((column) => `t.${column}` as const), 'u.suspendedAt'])
      .where('t.id', '=', id),
  );
  /** The user row joined with its active tokens (none: one row of nulls; no user: no row). */
  const activeTokens = prepared(db, (q, applicationId: string, userId: string, now: Date) =>
    q
      .selectFrom('User as u')
      .leftJoin('UserToken as t', (join) =>
        join.onRef('t.applicationId', '=', 'u.applicationId').onRef('t.userId', '=', 'u.userId').on('t.revokedAt', 'is', null).on('t.expiresAt', '>', now),
      )
      .select(TOKEN_COLUMNS.map((column) => `t.${column}` as const))
      .where('u.applicationId', '=', applicationId)
      .where('u.userId', '=', userId)
      .orderBy('t.issuedAt')
      .orderBy('t.id'),
  );

  /** Revokes inside `tx`, emitting a token.revoked each; returns the ids revoked. */
  async function revokeIn(
    tx: DbTransaction,
    emit: Emit,
    applicationId: string,
    userId: string,
    where: { ids: string[] | null; except?: string | null },
    now: Date,
  ): Promise<string[]> {
    if (where.ids !== null && where.ids.length === 0) return [];
    let update = tx
      .updateTable('UserToken')
      .set({ revokedAt: dialect.time(now) })
      .where('applicationId', '=', applicationId)
      .where('userId', '=', userId)
      .where('revokedAt', 'is', null);
    if (where.ids !== null) update = update.where('id', 'in', where.ids);
    if (where.except) update = update.where('id', '!=', where.except);
    const rows = await update.returning('id').execute();
    // Events in a stable order, whatever order the database updated the rows in.
    const revoked = rows.map((row) => row.id).sort();
    emit(...revokedEvents(userId, revoked));
    return revoked;
  }

  return {
    ...createSigningKidStore(db),

    async findToken(id: string): Promise<TokenState | null> {
      const [row] = await tokenById(id);
      if (row === undefined) return null;
      const { suspendedAt, ...token } = row;
      return { ...toToken(token), suspended: suspendedAt !== null && suspendedAt !== undefined };
    },

    async findByLogoutHash(logoutTokenHash: string): Promise<TokenRow | null> {
      const [row] = await db.rows<StoredTokenRow>(query.selectFrom('UserToken').select(TOKEN_COLUMNS).where('logoutTokenHash', '=', logoutTokenHash));
      return row === undefined ? null : toToken(row);
    },

    /**
     * The user's tokens neither revoked nor expired at `now`, oldest first; null when the user does
     * not exist. One join (the user row, its tokens).
     */
    async activeTokens(applicationId: string, userId: string, now: Date): Promise<TokenRow[] | null> {
      const rows = await activeTokens(applicationId, userId, now);
      if (rows.length === 0) return null;
      return rows.filter((row): row is StoredTokenRow => row.id !== null).map(toToken);
    },

    /**
     * Inserts a token under the user's row lock, so concurrent issues count each other. `choose`
     * sees the active tokens and names those to revoke first (the session limit), or throws
     * SessionLimitReached. Null when the user does not exist; 'suspended' when it is suspended.
     */
    async issue(row: NewTokenRow, choose: (active: TokenRow[]) => string[]): Promise<{ revoked: string[] } | 'suspended' | null> {
      return events.transaction(row.applicationId, async (tx, emit) => {
        if ((await lockUserRow(db, tx, row.applicationId, row.userId, null)) === null) return null;
        const user = await tx
          .selectFrom('User')
          .select('suspendedAt')
          .where('applicationId', '=', row.applicationId)
          .where('userId', '=', row.userId)
          .executeTakeFirstOrThrow();
        if (user.suspendedAt !== null) return 'suspended';
        const active = await tx
          .selectFrom('UserToken')
          .select(TOKEN_COLUMNS)
          .where('applicationId', '=', row.applicationId)
          .where('userId', '=', row.userId)
          .where('revokedAt', 'is', null)
          .where('expiresAt', '>', dialect.time(row.issuedAt))
          .orderBy('issuedAt')
          .orderBy('id')
          .execute();
        const revoked = choose(active.map(toToken));
        if (revoked.length > 0) {
          await tx
            .updateTable('UserToken')
            .set({ revokedAt: dialect.time(row.issuedAt) })
            .where('id', 'in', revoked)
            .where('revokedAt', 'is', null)
            .execute();
        }
        await tx
          .insertInto('UserToken')
          .values({
            ...row,
            issuedAt: dialect.time(row.issuedAt),
            expiresAt: dialect.time(row.expiresAt),
            lastUsedAt: dialect.time(row.lastUsedAt),
          })
          .execute();
        emit(...revokedEvents(row.userId, revoked), {
          type: 'token.issued',
          userId: row.userId,
          data: { tokenId: row.id, expiresAtMs: row.expiresAt.getTime() },
        });
        return { revoked };
      });
    },

    /** Sets a new expiry on a token that is still active at `now`; false otherwise. */
    async extend(id: string, expiresAt: Date, now: Date): Promise<boolean> {
      const result = await query
        .updateTable('UserToken')
        .set({ expiresAt: dialect.time(expiresAt) })
        .where('id', '=', id)
        .where('revokedAt', 'is', null)
        .where('expiresAt', '>', dialect.time(now))
        .executeTakeFirst();
      return result.numUpdatedRows === 1n;
    },

    /**
     * Revokes the user's active tokens among `ids` (all of them when null), except `except`;
     * returns the ids revoked. `within`: inside that transaction (a user's deletion), with its events.
     */
    async revoke(
      applicationId: string,
      userId: string,
      ids: string[] | null,
      now: Date,
      options: { within?: { tx: DbTransaction; emit: Emit }; except?: string | null } = {},
    ): Promise<string[]> {
      const where = { ids, except: options.except ?? null };
      if (options.within) return revokeIn(options.within.tx, options.within.emit, applicationId, userId, where, now);
      return events.transaction(applicationId, (tx, emit) => revokeIn(tx, emit, applicationId, userId, where, now));
    },

    /** Revokes one token (a logout link); false when it was revoked already. */
    async revokeToken(token: Pick<TokenRow, 'id' | 'applicationId' | 'userId'>, now: Date): Promise<boolean> {
      const revoked = await events.transaction(token.applicationId, (tx, emit) =>
        revokeIn(tx, emit, token.applicationId, token.userId, { ids: [token.id] }, now),
      );
      return revoked.length === 1;
    },

    async touch(id: string, lastUsedAt: Date): Promise<void> {
      const at = dialect.time(lastUsedAt);
      await query.updateTable('UserToken').set({ lastUsedAt: at }).where('id', '=', id).where('lastUsedAt', '<', at).execute();
    },

    async passwordHash(applicationId: string, userId: string): Promise<{ userInternalId: string; passwordHash: string | null } | null> {
      const [row] = await db.rows<{ id: string; passwordHash: string | null }>(
        query
          .selectFrom('User as u')
          .leftJoin('UserCredential as c', 'c.userInternalId', 'u.id')
          .select(['u.id', 'c.passwordHash'])
          .where('u.applicationId', '=', applicationId)
          .where('u.userId', '=', userId),
      );
      return row === undefined ? null : { userInternalId: row.id, passwordHash: row.passwordHash };
    },

    /**
     * Stores a password hash and, when `revokeTokens` is given, revokes the user's other tokens in
     * the same transaction; returns the ids revoked.
     */
    async setPasswordHash(
      user: { applicationId: string; userId: string; userInternalId: string },
      passwordHash: string,
      now: Date,
      revokeTokens: { except: string | null } | null,
    ): Promise<string[]> {
      const { applicationId, userId, userInternalId } = user;
      return events.transaction(applicationId, async (tx, emit) => {
        const at = dialect.time(now);
        await tx
          .insertInto('UserCredential')
          .values({ userInternalId, passwordHash, updatedAt: at })
          .onConflict((oc) => oc.column('userInternalId').doUpdateSet({ passwordHash, updatedAt: at }))
          .execute();
        if (revokeTokens === null) return [];
        return revokeIn(tx, emit, applicationId, userId, { ids: null, except: revokeTokens.except }, now);
      });
    },
  };
}

export type TokensStore = ReturnType<typeof createTokensStore>;
