// Persistence of user tokens and passwords (Prisma). No rules here: the service decides.
import type { Db, DbTransaction } from '../../platform/db.ts';
import type { EventRecorder } from '../events/service.ts';
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

export type NewTokenRow = Omit<TokenRow, 'revokedAt'> & { logoutTokenHash: string };

const TOKEN_COLUMNS = {
  id: true,
  applicationId: true,
  userId: true,
  kid: true,
  issuedAt: true,
  expiresAt: true,
  revokedAt: true,
  lastUsedAt: true,
  userAgent: true,
  address: true,
} as const;

/** Thrown inside the issue transaction to roll it back when the session limit refuses. */
export class SessionLimitReached extends Error {}

const revokedEvents = (userId: string, tokenIds: string[]): EventDraft[] => tokenIds.map((tokenId) => ({ type: 'token.revoked', userId, data: { tokenId } }));

/** The signing kid (ServerMeta): shared by the server and the CLI's `token-keys`. */
export function createSigningKidStore(db: Db) {
  return {
    /** The kid new tokens are signed with: `k1` until the first rotation. */
    async signingKid(): Promise<string> {
      const row = await db.serverMeta.findUnique({ where: { key: SIGNING_KID_KEY } });
      return row?.value ?? 'k1';
    },

    /** Moves signing to the next kid (`k<n+1>`) and returns it. */
    async rotateSigningKid(): Promise<string> {
      return db.$transaction(async (tx) => {
        const row = await tx.serverMeta.findUnique({ where: { key: SIGNING_KID_KEY } });
        const kid = `k${(kidNumber(row?.value ?? 'k1') ?? 1) + 1}`;
        await tx.serverMeta.upsert({ where: { key: SIGNING_KID_KEY }, create: { key: SIGNING_KID_KEY, value: kid }, update: { value: kid } });
        return kid;
      });
    },
  };
}

/**
 * Issuing and revoking append token.issued / token.revoked events (SPEC §8) in their own
 * transaction; the caller reports the commit (events.committed) once the write returns.
 */
export function createTokensStore(db: Db, events: EventRecorder) {
  /** Revokes inside `tx`; returns the ids revoked. */
  async function revokeIn(
    tx: DbTransaction,
    applicationId: string,
    userId: string,
    where: { ids: string[] | null; except?: string | null },
    now: Date,
  ): Promise<string[]> {
    const rows = await tx.userToken.findMany({
      where: {
        applicationId,
        userId,
        revokedAt: null,
        ...(where.ids === null ? {} : { id: { in: where.ids } }),
        ...(where.except ? { NOT: { id: where.except } } : {}),
      },
      select: { id: true },
    });
    if (rows.length === 0) return [];
    const revoked = rows.map((row) => row.id);
    await tx.userToken.updateMany({ where: { id: { in: revoked }, revokedAt: null }, data: { revokedAt: now } });
    await events.append(tx, applicationId, revokedEvents(userId, revoked));
    return revoked;
  }

  return {
    ...createSigningKidStore(db),

    async findToken(id: string): Promise<TokenRow | null> {
      return db.userToken.findUnique({ where: { id }, select: TOKEN_COLUMNS });
    },

    async findByLogoutHash(logoutTokenHash: string): Promise<TokenRow | null> {
      return db.userToken.findUnique({ where: { logoutTokenHash }, select: TOKEN_COLUMNS });
    },

    /**
     * The user's tokens neither revoked nor expired at `now`, oldest first; null when the user does
     * not exist. One parameterised join (the user row, its tokens), valid on both providers: the
     * typed API would need two queries at ~0.5 ms of CPU each.
     */
    async activeTokens(applicationId: string, userId: string, now: Date): Promise<TokenRow[] | null> {
      const rows = await db.$queryRaw<Array<{ [K in keyof TokenRow]: TokenRow[K] | null }>>`SELECT t."id", t."applicationId", t."userId", t."kid",
          t."issuedAt", t."expiresAt", t."revokedAt", t."lastUsedAt", t."userAgent", t."address"
        FROM "User" u LEFT JOIN "UserToken" t
          ON t."applicationId" = u."applicationId" AND t."userId" = u."userId" AND t."revokedAt" IS NULL AND t."expiresAt" > ${now}
        WHERE u."applicationId" = ${applicationId} AND u."userId" = ${userId}
        ORDER BY t."issuedAt", t."id"`;
      if (rows.length === 0) return null;
      return rows.filter((row): row is TokenRow => row.id !== null);
    },

    /**
     * Inserts a token under the user's row lock, so concurrent issues count each other. `choose`
     * sees the active tokens and names those to revoke first (the session limit), or throws
     * SessionLimitReached. Null when the user does not exist.
     */
    async issue(row: NewTokenRow, choose: (active: TokenRow[]) => string[]): Promise<{ revoked: string[] } | null> {
      return db.$transaction(async (tx) => {
        if ((await lockUserRow(tx, row.applicationId, row.userId, null)) === null) return null;
        const active = await tx.userToken.findMany({
          where: { applicationId: row.applicationId, userId: row.userId, revokedAt: null, expiresAt: { gt: row.issuedAt } },
          select: TOKEN_COLUMNS,
        });
        const revoked = choose(active);
        if (revoked.length > 0) await tx.userToken.updateMany({ where: { id: { in: revoked }, revokedAt: null }, data: { revokedAt: row.issuedAt } });
        await tx.userToken.create({ data: row });
        await events.append(tx, row.applicationId, [
          ...revokedEvents(row.userId, revoked),
          { type: 'token.issued', userId: row.userId, data: { tokenId: row.id, expiresAtMs: row.expiresAt.getTime() } },
        ]);
        return { revoked };
      });
    },

    /** Sets a new expiry on a token that is still active at `now`; false otherwise. */
    async extend(id: string, expiresAt: Date, now: Date): Promise<boolean> {
      const { count } = await db.userToken.updateMany({ where: { id, revokedAt: null, expiresAt: { gt: now } }, data: { expiresAt } });
      return count === 1;
    },

    /**
     * Revokes the user's active tokens among `ids` (all of them when null), except `except`;
     * returns the ids revoked. `tx`: inside that transaction (a user's deletion).
     */
    async revoke(
      applicationId: string,
      userId: string,
      ids: string[] | null,
      now: Date,
      options: { tx?: DbTransaction; except?: string | null } = {},
    ): Promise<string[]> {
      const where = { ids, except: options.except ?? null };
      if (options.tx) return revokeIn(options.tx, applicationId, userId, where, now);
      return db.$transaction((tx) => revokeIn(tx, applicationId, userId, where, now));
    },

    /** Revokes one token (a logout link); false when it was revoked already. */
    async revokeToken(token: Pick<TokenRow, 'id' | 'applicationId' | 'userId'>, now: Date): Promise<boolean> {
      const revoked = await db.$transaction((tx) => revokeIn(tx, token.applicationId, token.userId, { ids: [token.id] }, now));
      return revoked.length === 1;
    },

    async touch(id: string, lastUsedAt: Date): Promise<void> {
      await db.userToken.updateMany({ where: { id, lastUsedAt: { lt: lastUsedAt } }, data: { lastUsedAt } });
    },

    async passwordHash(applicationId: string, userId: string): Promise<{ userInternalId: string; passwordHash: string | null } | null> {
      const user = await db.user.findUnique({
        where: { applicationId_userId: { applicationId, userId } },
        select: { id: true, credential: { select: { passwordHash: true } } },
      });
      return user ? { userInternalId: user.id, passwordHash: user.credential?.passwordHash ?? null } : null;
    },

    /**
     * Stores a password hash and, when `revokeTokens` is given, revokes the user's other tokens in
     * the same transaction; returns the ids revoked.
     */
    async setPasswordHash(
      userInternalId: string,
      passwordHash: string,
      now: Date,
      revokeTokens: { applicationId: string; userId: string; except: string | null } | null,
    ): Promise<string[]> {
      return db.$transaction(async (tx) => {
        await tx.userCredential.upsert({
          where: { userInternalId },
          create: { userInternalId, passwordHash, updatedAt: now },
          update: { passwordHash, updatedAt: now },
        });
        if (revokeTokens === null) return [];
        return revokeIn(tx, revokeTokens.applicationId, revokeTokens.userId, { ids: null, except: revokeTokens.except }, now);
      });
    },
  };
}

export type TokensStore = ReturnType<typeof createTokensStore>;
