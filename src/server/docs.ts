// The OpenAPI document (/openapi.json, rendered into openapi.yaml by `npm run openapi`) and the
// Swagger UI (/docs), built from the route schemas.
import type { FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { ErrorBodySchema } from '../schemas.ts';
import { USER_WIRE_SCHEMAS } from '../wire/users.ts';
import { PROFILE_WIRE_SCHEMAS } from '../wire/profiles.ts';
import { PRESENCE_WIRE_SCHEMAS } from '../wire/presence.ts';
import { METADATA_WIRE_SCHEMAS } from '../wire/metadata.ts';

/** The shared schemas and the OpenAPI generator: before any route is registered. */
export async function registerSchemas(app: FastifyInstance): Promise<void> {
  app.addSchema(ErrorBodySchema);
  for (const schema of [...USER_WIRE_SCHEMAS, ...PROFILE_WIRE_SCHEMAS, ...PRESENCE_WIRE_SCHEMAS, ...METADATA_WIRE_SCHEMAS]) app.addSchema(schema);
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Locus',
        description: 'Identity and presence server speaking the mitter.io users wire protocol.',
        version: '0.1.0',
      },
      components: {
        securitySchemes: {
          accessKeySignature: {
            type: 'apiKey',
            in: 'header',
            name: 'Authorization',
            description: 'Auth <accessKey>:<base64 HMAC-SHA1>, with Date, Nonce and Content-MD5 headers (see docs/signing.md).',
          },
          userToken: {
            type: 'apiKey',
            in: 'header',
            name: 'X-Issued-Mitter-User-Authorization',
            description: 'A user token (also accepted as `Authorization: Bearer <token>` or the cookie x_issued_mitter_user_authorization).',
          },
        },
      },
    },
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
  });
}

/** The Swagger UI: after the routes. */
export async function registerDocsUi(app: FastifyInstance): Promise<void> {
  await app.register(async (docs) => {
    // The UI's own routes (page, assets, JSON) are documentation reads for the policy.
    docs.addHook('onRoute', (route) => {
      route.config = { ...(route.config ?? {}), action: 'docs.read' };
    });
    await docs.register(swaggerUi, { routePrefix: '/docs' });
  });
}
