// HTTP routes of entity metadata (docs/social.md): set, list, read and remove a user's keys.
import { Type } from 'typebox';
import { applicationOf } from '../../auth/principal.ts';
import { invalidEntity } from '../../errors.ts';
import { targetUserOf } from '../../policy/authorize.ts';
import { type RouteApp, errorResponses, isRecord, SIGNED_OR_TOKEN } from '../../schemas.ts';
import { EmptyObject, UserParams } from '../users/routes.ts';
import { parseMetadataKey, parseMetadataValue } from './rules.ts';
import { toWireMetadata } from '../../wire/metadata.ts';
import { MAX_METADATA_KEYS } from './service.ts';

const KeyParams = Type.Object({ userId: UserParams.properties.userId, key: Type.String({ maxLength: 200 }) });

export async function metadataRoutes(app: RouteApp): Promise<void> {
  const metadata = app.locus.metadata;
  const tags = ['metadata'];
  const security = SIGNED_OR_TOKEN;

  app.post(
    '/v1/users/:userId/metadata',
    {
      config: { action: 'metadata.write', targetUser: 'userId' },
      schema: {
        summary: 'Set one metadata key of a user (upsert)',
        description:
          `\`key\`: 1–64 characters of [A-Za-z0-9._-]; \`value\`: a string (≤ 1,024 characters), a finite number or a boolean, or the typed ` +
          `forms {"@type":"string","text"} / {"@type":"numeric","number"}. At most ${MAX_METADATA_KEYS} keys per user (a new key beyond: 409 \`limit_exceeded\`).`,
        tags,
        security,
        params: UserParams,
        body: Type.Unsafe<unknown>({ type: 'object', description: '{"key", "value"}' }),
        response: { 200: EmptyObject, ...errorResponses('missing_privilege', 'entity_not_found', 'limit_exceeded') },
      },
    },
    async (request) => {
      const body = request.body;
      if (!isRecord(body)) throw invalidEntity({ field: 'body', location: 'body' }, 'type', 'a JSON object {"key", "value"}');
      const key = parseMetadataKey(body.key, { field: 'key', location: 'body' });
      if (!Object.hasOwn(body, 'value')) throw invalidEntity({ field: 'value', location: 'body' }, 'required', 'value is required');
      const value = parseMetadataValue(body.value, { field: 'value', location: 'body' });
      await metadata.set(applicationOf(request.principal), targetUserOf(request), key, value);
      return {};
    },
  );

  app.get(
    '/v1/users/:userId/metadata',
    {
      config: { action: 'metadata.read', targetUser: 'userId' },
      schema: {
        summary: 'A user’s metadata, in key order',
        tags,
        security,
        params: UserParams,
        response: { 200: Type.Object({ metadata: Type.Array(Type.Ref('MetadataEntry')) }), ...errorResponses('missing_privilege', 'entity_not_found') },
      },
    },
    async (request) => ({ metadata: (await metadata.list(applicationOf(request.principal), targetUserOf(request))).map(toWireMetadata) }),
  );

  app.get(
    '/v1/users/:userId/metadata/:key',
    {
      config: { action: 'metadata.read', targetUser: 'userId' },
      schema: {
        summary: 'One metadata key of a user',
        tags,
        security,
        params: KeyParams,
        response: { 200: Type.Ref('MetadataEntry'), ...errorResponses('missing_privilege', 'entity_not_found') },
      },
    },
    async (request) => {
      const key = parseMetadataKey(request.params.key, { field: 'key', location: 'path' });
      return toWireMetadata(await metadata.get(applicationOf(request.principal), targetUserOf(request), key));
    },
  );

  app.delete(
    '/v1/users/:userId/metadata/:key',
    {
      config: { action: 'metadata.write', targetUser: 'userId' },
      schema: {
        summary: 'Remove one metadata key of a user (a key it does not hold changes nothing)',
        tags,
        security,
        params: KeyParams,
        response: { 200: EmptyObject, ...errorResponses('missing_privilege', 'entity_not_found') },
      },
    },
    async (request) => {
      const key = parseMetadataKey(request.params.key, { field: 'key', location: 'path' });
      await metadata.remove(applicationOf(request.principal), targetUserOf(request), key);
      return {};
    },
  );
}
