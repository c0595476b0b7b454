// The mitter.io wire shapes of profiles: Attribute, EntityProfile and
// AttributeDef. Every route that returns a profile, an attribute or a def goes through here.
import { Type } from 'typebox';
import type { AttributeDefinition, StoredAttribute } from '../modules/profiles/types.ts';
import { writtenOnce } from './written.ts';

export const WireAttributeSchema = Type.Object(
  {
    key: Type.String(),
    contentType: Type.String({ description: 'A MIME type the key’s def allows' }),
    contentEncoding: Type.String({ description: 'An encoding the key’s def allows (identity, UTF-8, base64, …)' }),
    value: Type.String({ description: 'At most 64 KiB of UTF-8' }),
  },
  { $id: 'Attribute', title: 'Attribute' },
);

export const WireEntityProfileSchema = Type.Object(
  { entityId: Type.Ref('Identifiable'), attributes: Type.Array(Type.Ref('Attribute')) },
  { $id: 'EntityProfile', title: 'EntityProfile' },
);

export const WireAttributeDefSchema = Type.Object(
  {
    key: Type.String(),
    allowedContentTypes: Type.Array(Type.String()),
    allowedContentEncodings: Type.Array(Type.String()),
    canBeEmpty: Type.Boolean(),
    entityType: Type.String({ description: 'users' }),
  },
  { $id: 'AttributeDef', title: 'AttributeDef' },
);

/** Shared schemas that routes reference by $id; registered once on the app. */
export const PROFILE_WIRE_SCHEMAS = [WireAttributeSchema, WireEntityProfileSchema, WireAttributeDefSchema];

export interface WireAttribute {
  key: string;
  contentType: string;
  contentEncoding: string;
  value: string;
}

export interface WireEntityProfile {
  entityId: { identifier: string };
  attributes: WireAttribute[];
}

export function toWireAttribute(stored: StoredAttribute): WireAttribute {
  return { key: stored.key, contentType: stored.contentType, contentEncoding: stored.contentEncoding, value: stored.value };
}

export function toWireEntityProfile(userId: string, attributes: readonly StoredAttribute[]): WireEntityProfile {
  return { entityId: { identifier: userId }, attributes: attributes.map(toWireAttribute) };
}

export function toWireAttributeDef(def: AttributeDefinition): AttributeDefinition {
  return {
    key: def.key,
    allowedContentTypes: [...def.allowedContentTypes],
    allowedContentEncodings: [...def.allowedContentEncodings],
    canBeEmpty: def.canBeEmpty,
    entityType: def.entityType,
  };
}

/** A cached profile's attributes as JSON, written once per cached (frozen) array. */
const attributesJson = writtenOnce((attributes: readonly StoredAttribute[]) => JSON.stringify(attributes.map(toWireAttribute)));

/** toWireEntityProfile as JSON, the same document the route schema's serializer writes (a test holds the two together). */
export function wireEntityProfileJson(userId: string, attributes: readonly StoredAttribute[]): string {
  return `{"entityId":{"identifier":${JSON.stringify(userId)}},"attributes":${attributesJson(attributes)}}`;
}
