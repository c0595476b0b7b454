// HTTP routes of profiles (docs/profiles.md): attribute defs and profile values. Validate, authorise
// (declared per route), call the service, shape with the wire module.
import { Type } from 'typebox';
import { type RouteApp, errorResponses, sendWritten, SIGNED_OR_TOKEN } from '../../schemas.ts';
import { targetUserOf } from '../../policy/authorize.ts';
import { applicationOf } from '../../auth/principal.ts';
import { toWireAttribute, toWireAttributeDef, wireEntityProfileJson } from '../../wire/profiles.ts';
import { EmptyObject, UserParams } from '../users/routes.ts';
import { ATTRIBUTE_KEY_PATTERN, MAX_DEF_LIST_ENTRIES, MAX_PATCH_ATTRIBUTES, parseAttributeDef, parseAttributeInput, parseKeyList } from './rules.ts';
import { MAX_ATTRIBUTE_DEFS, MAX_PROFILE_ATTRIBUTES, type PatchType } from './service.ts';

const KeyParam = Type.String({ pattern: ATTRIBUTE_KEY_PATTERN.source, description: 'An attribute key' });
const KeysParam = Type.String({ maxLength: MAX_PATCH_ATTRIBUTES * 129, description: `Comma-separated attribute keys, at most ${MAX_PATCH_ATTRIBUTES}` });

const AttributeDefBody = Type.Object(
  {
    key: Type.String({ description: '1–128 characters: letters, digits, ., _ or -' }),
    allowedContentTypes: Type.Array(Type.String(), {
      minItems: 1,
      maxItems: MAX_DEF_LIST_ENTRIES,
      description: 'MIME types (type/subtype), matched case-insensitively',
    }),
    allowedContentEncodings: Type.Array(Type.String(), { minItems: 1, maxItems: MAX_DEF_LIST_ENTRIES, description: 'e.g. identity, UTF-8, base64' }),
    canBeEmpty: Type.Optional(Type.Boolean({ default: true })),
    entityType: Type.Optional(Type.String({ description: 'users (the default)' })),
  },
  { additionalProperties: true },
);

const AttributeBody = Type.Object(
  {
    key: Type.Optional(Type.String({ description: 'Defaults to the path’s key; must equal it when given' })),
    contentType: Type.Optional(Type.String({ description: 'Defaults to text/plain' })),
    contentEncoding: Type.Optional(Type.String({ description: 'Defaults to identity' })),
    value: Type.String({ description: 'At most 64 KiB of UTF-8' }),
  },
  { additionalProperties: true },
);

const PatchBody = Type.Object(
  {
    attributes: Type.Array(Type.Unknown({ description: 'An Attribute (key required)' }), { maxItems: MAX_PATCH_ATTRIBUTES }),
    patchType: Type.Optional(
      Type.Unsafe<PatchType>({ type: 'string', enum: ['Set', 'Diff'], description: 'Set replaces the whole profile; Diff (the default) upserts by key' }),
    ),
  },
  { additionalProperties: true },
);

const UserKeyParams = Type.Object({ userId: UserParams.properties.userId, key: KeyParam });
const UserKeysParams = Type.Object({ userId: UserParams.properties.userId, keys: KeysParam });

/** The target user resolved by the policy hook. */
export async function profileRoutes(app: RouteApp): Promise<void> {
  const { profiles, social } = app.locus;
  const tags = ['profiles'];
  const security = SIGNED_OR_TOKEN;

  app.post(
    '/v1/attribute-def/users',
    {
      config: { action: 'profiles.defs.write' },
      schema: {
        summary: 'Define a user profile attribute',
        description: `Defs are immutable: a second def of one key (or of a standard key) is a 409. At most ${MAX_ATTRIBUTE_DEFS} per application.`,
        tags,
        security,
        body: AttributeDefBody,
        response: { 200: EmptyObject, ...errorResponses('missing_privilege', 'duplicate_entity', 'limit_exceeded') },
      },
    },
    async (request) => {
      await profiles.createDef(applicationOf(request.principal), parseAttributeDef(request.body));
      return {};
    },
  );

  app.get(
    '/v1/attribute-def/users',
    {
      config: { action: 'profiles.defs.read' },
      schema: {
        summary: 'Every user attribute def: the standard ones, then the application’s own',
        tags,
        security,
        response: { 200: Type.Array(Type.Ref('AttributeDef')), ...errorResponses('missing_privilege') },
      },
    },
    async (request) => (await profiles.listDefs(applicationOf(request.principal))).map(toWireAttributeDef),
  );

  app.get(
    '/v1/attribute-def/users/:key',
    {
      config: { action: 'profiles.defs.read' },
      schema: {
        summary: 'One user attribute def',
        tags,
        security,
        params: Type.Object({ key: KeyParam }),
        response: { 200: Type.Ref('AttributeDef'), ...errorResponses('missing_privilege', 'entity_not_found') },
      },
    },
    async (request) => toWireAttributeDef(await profiles.getDef(applicationOf(request.principal), request.params.key)),
  );

  app.get(
    '/v1/users/:userId/profile',
    {
      config: { action: 'profiles.read', targetUser: 'userId' },
      schema: {
        summary: 'A user’s whole profile',
        tags,
        security,
        params: UserParams,
        response: { 200: Type.Ref('EntityProfile'), ...errorResponses('missing_privilege', 'entity_not_found') },
      },
    },
    async (request, reply) => {
      const userId = targetUserOf(request);
      const cachedOrRead = profiles.profile(applicationOf(request.principal), userId);
      const unblocked = social.unblocked(request.principal);
      // Both cached (the common read): no promise to wait for. Otherwise the reads run together.
      const [attributes, reads] =
        Array.isArray(cachedOrRead) && typeof unblocked === 'function' ? [cachedOrRead, unblocked] : await Promise.all([cachedOrRead, unblocked]);
      // A blocker's profile reads as empty to the users it blocks.
      return sendWritten(reply, wireEntityProfileJson(userId, reads(userId) ? attributes : []));
    },
  );

  app.get(
    '/v1/users/:userId/profile/:keys',
    {
      config: { action: 'profiles.read', targetUser: 'userId' },
      schema: {
        summary: 'Some attributes of a user’s profile',
        description: 'The attributes the user holds among the keys asked, in the order asked; keys it does not hold are left out.',
        tags,
        security,
        params: UserKeysParams,
        response: { 200: Type.Array(Type.Ref('Attribute')), ...errorResponses('missing_privilege', 'entity_not_found') },
      },
    },
    async (request) => {
      const keys = parseKeyList(request.params.keys, { field: 'keys', location: 'path' });
      const userId = targetUserOf(request);
      const [attributes, reads] = await Promise.all([profiles.attributes(applicationOf(request.principal), userId, keys), social.unblocked(request.principal)]);
      return reads(userId) ? attributes.map(toWireAttribute) : [];
    },
  );

  app.post(
    '/v1/users/:userId/profile/:key',
    {
      config: { action: 'profiles.write', targetUser: 'userId' },
      schema: {
        summary: 'Set one attribute of a user’s profile',
        description: 'The key needs a def (or must be standard); the value must fit it (400 `invalid_domain_attribute` naming the rule).',
        tags,
        security,
        params: UserKeyParams,
        body: AttributeBody,
        response: { 200: EmptyObject, ...errorResponses('invalid_domain_attribute', 'missing_privilege', 'entity_not_found', 'limit_exceeded') },
      },
    },
    async (request) => {
      const { key } = request.params;
      const where = { field: 'body', location: 'body' } as const;
      await profiles.write(applicationOf(request.principal), targetUserOf(request), [{ input: parseAttributeInput(request.body, where, key), where }], 'Diff');
      return {};
    },
  );

  app.post(
    '/v1/users/:userId/profile',
    {
      config: { action: 'profiles.write', targetUser: 'userId' },
      schema: {
        summary: 'Patch a user’s profile',
        description:
          `\`Set\` makes the profile exactly these attributes; \`Diff\` (the default) replaces or adds each by key. All or nothing: one ` +
          `refused attribute leaves the profile unchanged. At most ${MAX_PATCH_ATTRIBUTES} attributes per patch and ${MAX_PROFILE_ATTRIBUTES} per profile.`,
        tags,
        security,
        params: UserParams,
        body: PatchBody,
        response: { 200: EmptyObject, ...errorResponses('invalid_domain_attribute', 'missing_privilege', 'entity_not_found', 'limit_exceeded') },
      },
    },
    async (request) => {
      const body = request.body;
      const inputs = body.attributes.map((attribute, i) => {
        const where = { field: `attributes[${i}]`, location: 'body' } as const;
        return { input: parseAttributeInput(attribute, where), where };
      });
      await profiles.write(applicationOf(request.principal), targetUserOf(request), inputs, body.patchType ?? 'Diff');
      return {};
    },
  );

  app.delete(
    '/v1/users/:userId/profile/:keys',
    {
      config: { action: 'profiles.write', targetUser: 'userId' },
      schema: {
        summary: 'Remove attributes from a user’s profile',
        description: 'Keys the profile does not hold are ignored.',
        tags,
        security,
        params: UserKeysParams,
        response: { 200: EmptyObject, ...errorResponses('missing_privilege', 'entity_not_found') },
      },
    },
    async (request) => {
      const keys = parseKeyList(request.params.keys, { field: 'keys', location: 'path' });
      await profiles.remove(applicationOf(request.principal), targetUserOf(request), keys);
      return {};
    },
  );
}
