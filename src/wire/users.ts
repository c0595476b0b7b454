// The mitter.io wire shapes of users and locators: the one place that knows
// `identifier`, `internalId`, `auditInfo` in epoch ms, and locators polymorphic on `@type`.
// Every route that returns a user goes through toWireUser.
import { Type, type Static } from 'typebox';
import type { StoredLocator, StoredUser } from '../modules/users/types.ts';
import type { WireEntityProfile } from './profiles.ts';
import { writtenOnce } from './written.ts';

export const IdentifiableSchema = Type.Object({ identifier: Type.String() }, { $id: 'Identifiable', title: 'Identifiable' });

export const WireUserLocatorSchema = Type.Object(
  {
    // Plain enums and `nullable` rather than unions below: fast-json-stringify validates every
    // union branch per value while serialising, which made list responses measurably slower.
    '@type': Type.Unsafe<'email' | 'tele'>({ type: 'string', enum: ['email', 'tele'] }),
    locator: Type.String({ description: '<type>:<value>, normalised (email lower-cased, tele in E.164)' }),
    email: Type.Optional(Type.String()),
    phoneNumber: Type.Optional(Type.String({ description: 'E.164' })),
    verificationStatus: Type.String({ description: 'StatusNotProvided | Unverified | VerificationPending | Verified | VerificationNotApplicable' }),
    userLocatorId: Type.String(),
    identifier: Type.String({ description: 'Same as userLocatorId' }),
    applicationId: Type.Ref('Identifiable'),
  },
  { $id: 'UserLocator', title: 'UserLocator' },
);

export const WireUserSchema = Type.Object(
  {
    userId: Type.String(),
    identifier: Type.String({ description: 'Same as userId' }),
    internalId: Type.String({ description: 'Opaque server-side id' }),
    screenName: Type.Object({ screenName: Type.String() }),
    userLocators: Type.Array(Type.Ref('UserLocator')),
    systemUser: Type.Boolean(),
    synthetic: Type.Boolean(),
    blocked: Type.Boolean(),
    entityProfile: Type.Object(
      { entityId: Type.Ref('Identifiable'), attributes: Type.Array(Type.Ref('Attribute')) },
      { nullable: true, description: 'null unless withProfileAttributes is given (then the attributes asked for that are set)' },
    ),
    entityMetadata: Type.Object({}, { nullable: true, additionalProperties: true, description: 'null unless shouldFetchMetadata=true' }),
    auditInfo: Type.Object({ createdAt: Type.Integer({ description: 'Epoch ms' }), updatedAt: Type.Integer({ description: 'Epoch ms' }) }),
  },
  { $id: 'User', title: 'User' },
);

/** Shared schemas that routes reference by $id; registered once on the app. */
export const USER_WIRE_SCHEMAS = [IdentifiableSchema, WireUserLocatorSchema, WireUserSchema];

export interface WireUserLocator {
  '@type': 'email' | 'tele';
  locator: string;
  email?: string;
  phoneNumber?: string;
  verificationStatus: string;
  userLocatorId: string;
  identifier: string;
  applicationId: { identifier: string };
}

export type WireUser = Omit<Static<typeof WireUserSchema>, 'userLocators' | 'entityProfile' | 'entityMetadata'> & {
  userLocators: WireUserLocator[];
  entityProfile: WireEntityProfile | null;
  entityMetadata: Record<string, unknown> | null;
};

export function toWireLocator(stored: StoredLocator): WireUserLocator {
  const colon = stored.locator.indexOf(':');
  const value = stored.locator.slice(colon + 1);
  const common = {
    locator: stored.locator,
    verificationStatus: stored.verificationStatus,
    userLocatorId: stored.id,
    identifier: stored.id,
    applicationId: { identifier: stored.applicationId },
  };
  return stored.locator.startsWith('tele:') ? { '@type': 'tele', phoneNumber: value, ...common } : { '@type': 'email', email: value, ...common };
}

export interface WireUserExtras {
  entityProfile?: WireUser['entityProfile'];
  entityMetadata?: WireUser['entityMetadata'];
}

export function toWireUser(stored: StoredUser, extras: WireUserExtras = {}): WireUser {
  return {
    userId: stored.userId,
    identifier: stored.userId,
    internalId: stored.id,
    screenName: { screenName: stored.screenName },
    userLocators: stored.locators.map(toWireLocator),
    systemUser: false,
    synthetic: false,
    blocked: stored.suspended,
    entityProfile: extras.entityProfile ?? null,
    entityMetadata: extras.entityMetadata ?? null,
    auditInfo: { createdAt: stored.createdAt.getTime(), updatedAt: stored.updatedAt.getTime() },
  };
}

/**
 * A user without extras as JSON, the same document the route schemas' serializer writes (a test
 * holds the two together). Cached users are frozen and shared, so each is written once: the hot
 * reads (a user by id, a lookup by locators) send these strings instead of serialising per request.
 */
export const wireUserJson = writtenOnce((stored: StoredUser) => JSON.stringify(toWireUser(stored)));

export function wireUsersJson(users: readonly StoredUser[]): string {
  return `[${users.map(wireUserJson).join(',')}]`;
}
