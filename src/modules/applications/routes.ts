// HTTP routes of the applications module.
import { Type } from 'typebox';
import { ApiError } from '../../errors.ts';
import { type RouteApp, errorResponses } from '../../schemas.ts';
import { applicationOf } from '../../auth/principal.ts';

export async function applicationRoutes(app: RouteApp): Promise<void> {
  app.get(
    '/v1/test/application/by/accesskey',
    {
      config: { action: 'applications.whoami' },
      schema: {
        summary: 'Echo the application the credentials belong to',
        description: 'Sign the request with an access key (mitter.io HMAC scheme) to check the credentials.',
        tags: ['applications'],
        security: [{ accessKeySignature: [] }],
        response: {
          200: Type.Object({ applicationId: Type.String(), name: Type.String() }),
          ...errorResponses('missing_privilege'),
        },
      },
    },
    async (request) => {
      const application = await app.locus.applications.get(applicationOf(request.principal));
      if (!application) throw new ApiError('authorization_exception', 'The application no longer exists', { check: 'access_key' });
      return { applicationId: application.applicationId, name: application.name };
    },
  );
}
