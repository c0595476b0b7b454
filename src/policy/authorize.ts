// The single authorisation decision: (principal, action, target user) → allow, or the error to send.
// It also resolves the path word `me` to the acting user, since "who is me" is a policy question.
import { ApiError } from '../errors.ts';
import type { Principal } from '../auth/principal.ts';
import { RULES, isAction, type Rule } from './rules.ts';

export type Decision = { allowed: true; targetUserId: string | null } | { allowed: false; error: ApiError };

/** The path word that stands for the acting user. */
export const ME = 'me';

function deny(principal: Principal, action: unknown): Decision {
  if (principal.kind === 'anonymous') {
    return { allowed: false, error: new ApiError('authorization_exception', 'This route needs credentials', { check: 'credentials' }) };
  }
  return {
    allowed: false,
    error: new ApiError('missing_privilege', 'The caller may not perform this action', {
      missingPrivileges: [typeof action === 'string' ? action : 'unknown'],
      actor: principal.kind === 'user' ? principal.userId : '.system',
    }),
  };
}

/**
 * `me` → the acting user. `.system` has no user of its own: `me` without X-Mitter-Sudo-User-Id is
 * a 400 `missing_context`. Any other reference is returned unchanged.
 */
export function resolveUserReference(principal: Principal, reference: string): string {
  if (reference !== ME) return reference;
  if (principal.kind === 'user') return principal.userId;
  if (principal.kind === 'system') {
    throw new ApiError('missing_context', '"me" needs a user: send X-Mitter-Sudo-User-Id or use a user token', { missingContext: 'user' });
  }
  throw new ApiError('authorization_exception', 'This route needs credentials', { check: 'credentials' });
}

/** The user a route declaring `targetUser` acts on, as the policy resolved it (`me` resolved). */
export function targetUserOf(request: { targetUserId: string | null }): string {
  if (request.targetUserId === null) throw new Error('route declared no targetUser');
  return request.targetUserId;
}

/**
 * `targetReference` is the user the route acts on, as written in the path (possibly `me`); the
 * decision carries it resolved. A `self` grant without a target fails closed.
 */
export function authorize(principal: Principal, action: unknown, targetReference?: string): Decision {
  // Fail closed: an action that is not in the table (or no action at all) is allowed to nobody.
  const rule: Rule = isAction(action) ? RULES[action] : {};
  const grant = rule[principal.kind];
  if (grant === undefined) return deny(principal, action);
  const targetUserId = targetReference === undefined ? null : resolveUserReference(principal, targetReference);
  if (grant === 'self' && !(principal.kind === 'user' && targetUserId !== null && targetUserId === principal.userId)) {
    return deny(principal, action);
  }
  return { allowed: true, targetUserId };
}
