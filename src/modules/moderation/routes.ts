// HTTP routes of reports, feedback and suspension (docs/social.md).
import { Type } from 'typebox';
import { applicationOf } from '../../auth/principal.ts';
import { invalidEntity } from '../../errors.ts';
import { resolveUserReference, ME, targetUserOf } from '../../policy/authorize.ts';
import { type RouteApp, errorResponses, isRecord, SIGNED_OR_TOKEN } from '../../schemas.ts';
import { parseUserId } from '../users/rules.ts';
import { decodeTimeCursor, DEFAULT_PAGE_SIZE, EmptyObject, encodeTimeCursor, PageQuery, parseText, UserParams } from '../users/routes.ts';
import { MAX_REPORTS_PER_HOUR } from './service.ts';

const nullableString = Type.Unsafe<string | null>({ type: 'string', nullable: true });
const body = (description: string) => Type.Unsafe<unknown>({ type: 'object', description });

/** The `after` query of a newest-first page, decoded. */
function cursorOf(after: string | undefined) {
  if (after === undefined || after === '') return null;
  const { atMs, id } = decodeTimeCursor(after);
  return { createdAt: new Date(atMs), id };
}

export async function moderationRoutes(app: RouteApp): Promise<void> {
  const moderation = app.locus.moderation;
  const tags = ['moderation'];
  const security = SIGNED_OR_TOKEN;

  app.post(
    '/v1/reports',
    {
      config: { action: 'reports.create' },
      schema: {
        summary: 'Report a user',
        description: `\`{"userId", "reason": 1–200 characters, "details"?: ≤ 4,000}\`. At most ${MAX_REPORTS_PER_HOUR} reports per reporter per hour (429 \`rate_limited\` with Retry-After).`,
        tags,
        security,
        body: body('{"userId", "reason", "details"?}'),
        response: { 200: Type.Object({ reportId: Type.String() }), ...errorResponses('missing_privilege', 'entity_not_found', 'rate_limited') },
      },
    },
    async (request) => {
      const input = request.body;
      if (!isRecord(input)) throw invalidEntity({ field: 'body', location: 'body' }, 'type', 'a JSON object {"userId", "reason", "details"?}');
      const userId = parseUserId(input.userId, { field: 'userId', location: 'body' });
      const reason = parseText(input.reason, { field: 'reason', location: 'body' }, { min: 1, max: 200 });
      const details =
        input.details === undefined || input.details === null ? null : parseText(input.details, { field: 'details', location: 'body' }, { min: 0, max: 4_000 });
      const reporter = resolveUserReference(request.principal, ME);
      return { reportId: await moderation.report(applicationOf(request.principal), reporter, { userId, reason, details }) };
    },
  );

  app.get(
    '/v1/reports',
    {
      config: { action: 'reports.read' },
      schema: {
        summary: 'Reports about the application’s users, newest first',
        description: '`userId` narrows to reports about one user. Paginated: `limit` per page; a `Link: <…>; rel="next"` header carries the next page.',
        tags,
        security,
        querystring: Type.Object(
          { ...PageQuery.properties, userId: Type.Optional(Type.String({ maxLength: 72, description: 'Only reports about this user' })) },
          { additionalProperties: true },
        ),
        response: {
          200: Type.Object({
            reports: Type.Array(
              Type.Object({
                reportId: Type.String(),
                reporter: Type.String(),
                userId: Type.String(),
                reason: Type.String(),
                details: nullableString,
                createdAtMs: Type.Integer(),
              }),
            ),
          }),
          ...errorResponses('missing_privilege'),
        },
      },
    },
    async (request, reply) => {
      const { query } = request;
      const userId = query.userId === undefined || query.userId === '' ? null : parseUserId(query.userId, { field: 'userId', location: 'query' });
      const limit = query.limit ?? DEFAULT_PAGE_SIZE;
      const page = await moderation.reports(applicationOf(request.principal), { userId, limit, after: cursorOf(query.after) });
      if (page.next) {
        const filter = userId === null ? '' : `&userId=${encodeURIComponent(userId)}`;
        reply.header('link', `</v1/reports?limit=${limit}${filter}&after=${encodeTimeCursor(page.next.createdAt.getTime(), page.next.id)}>; rel="next"`);
      }
      return {
        reports: page.items.map((report) => ({
          reportId: report.id,
          reporter: report.reporterId,
          userId: report.userId,
          reason: report.reason,
          details: report.details,
          createdAtMs: report.createdAt.getTime(),
        })),
      };
    },
  );

  app.post(
    '/v1/feedback',
    {
      config: { action: 'feedback.create' },
      schema: {
        summary: 'Send feedback to the application',
        description: '`{"title": 1–200 characters, "description": ≤ 4,000}`.',
        tags,
        security,
        body: body('{"title", "description"}'),
        response: { 200: Type.Object({ feedbackId: Type.String() }), ...errorResponses('missing_privilege') },
      },
    },
    async (request) => {
      const input = request.body;
      if (!isRecord(input)) throw invalidEntity({ field: 'body', location: 'body' }, 'type', 'a JSON object {"title", "description"}');
      const title = parseText(input.title, { field: 'title', location: 'body' }, { min: 1, max: 200 });
      const description = parseText(input.description, { field: 'description', location: 'body' }, { min: 0, max: 4_000 });
      const userId = resolveUserReference(request.principal, ME);
      return { feedbackId: await moderation.sendFeedback(applicationOf(request.principal), userId, { title, description }) };
    },
  );

  app.get(
    '/v1/feedback',
    {
      config: { action: 'feedback.read' },
      schema: {
        summary: 'Feedback users sent, newest first',
        description: 'Paginated: `limit` per page; a `Link: <…>; rel="next"` header carries the next page.',
        tags,
        security,
        querystring: PageQuery,
        response: {
          200: Type.Object({
            feedback: Type.Array(
              Type.Object({ feedbackId: Type.String(), userId: Type.String(), title: Type.String(), description: Type.String(), createdAtMs: Type.Integer() }),
            ),
          }),
          ...errorResponses('missing_privilege'),
        },
      },
    },
    async (request, reply) => {
      const limit = request.query.limit ?? DEFAULT_PAGE_SIZE;
      const page = await moderation.feedback(applicationOf(request.principal), { limit, after: cursorOf(request.query.after) });
      if (page.next) reply.header('link', `</v1/feedback?limit=${limit}&after=${encodeTimeCursor(page.next.createdAt.getTime(), page.next.id)}>; rel="next"`);
      return {
        feedback: page.items.map((entry) => ({
          feedbackId: entry.id,
          userId: entry.userId,
          title: entry.title,
          description: entry.description,
          createdAtMs: entry.createdAt.getTime(),
        })),
      };
    },
  );

  app.post(
    '/v1/users/:userId/suspension',
    {
      config: { action: 'users.suspension.write', targetUser: 'userId' },
      schema: {
        summary: 'Suspend a user',
        description:
          'From the next request on every instance: the user reads `blocked: true`, its tokens are refused (401 `claim_rejected`, ' +
          '`diagnostics.reason: "suspended"`), login and token issue are refused (403 `user_suspended`), its streams end and its presence reads null. ' +
          'Suspending a suspended user changes nothing.',
        tags,
        security,
        params: UserParams,
        body: body('{"reason": 1–200 characters}'),
        response: { 200: EmptyObject, ...errorResponses('missing_privilege', 'entity_not_found') },
      },
    },
    async (request) => {
      const input = request.body;
      if (!isRecord(input)) throw invalidEntity({ field: 'body', location: 'body' }, 'type', 'a JSON object {"reason"}');
      const reason = parseText(input.reason, { field: 'reason', location: 'body' }, { min: 1, max: 200 });
      await moderation.suspend(applicationOf(request.principal), targetUserOf(request), reason);
      return {};
    },
  );

  app.delete(
    '/v1/users/:userId/suspension',
    {
      config: { action: 'users.suspension.write', targetUser: 'userId' },
      schema: {
        summary: 'Reinstate a suspended user',
        description: 'Its tokens that have neither expired nor been revoked work again. Reinstating a user that is not suspended changes nothing.',
        tags,
        security,
        params: UserParams,
        response: { 200: EmptyObject, ...errorResponses('missing_privilege', 'entity_not_found') },
      },
    },
    async (request) => {
      await moderation.reinstate(applicationOf(request.principal), targetUserOf(request));
      return {};
    },
  );
}
