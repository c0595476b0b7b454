// The single authorisation decision: (principal, action) → allow, or the error to send.
import { ApiError } from '../errors.ts';
import type { Principal } from '../auth/principal.ts';
import { RULES, isAction, type Rule } from './rules.ts';

export type Decision = { allowed: true } | { allowed: false; error: ApiError };

export function authorize(principal: Principal, action: unknown): Decision {
  // Fail closed: an action that is not in the table (or no action at all) is allowed to nobody.
  const rule: Rule = isAction(action) ? RULES[action] : {};
  if (rule[principal.kind] === 'allow') return { allowed: true };
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
