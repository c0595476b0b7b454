// The policy as data (SPEC §1.1): for every action, which principal kinds may perform it.
// Every route names one of these actions; an action missing here is denied to everyone.
import type { PrincipalKind } from '../auth/principal.ts';

export type Grant = 'allow';
export type Rule = Partial<Record<PrincipalKind, Grant>>;

export const RULES = {
  /** Liveness and readiness probes. */
  'health.read': { anonymous: 'allow', system: 'allow', user: 'allow' },
  /** The OpenAPI document and its UI. */
  'docs.read': { anonymous: 'allow', system: 'allow', user: 'allow' },
  /** The credential echo: which application am I? */
  'applications.whoami': { system: 'allow', user: 'allow' },
} as const satisfies Record<string, Rule>;

export type Action = keyof typeof RULES;

export function isAction(value: unknown): value is Action {
  return typeof value === 'string' && Object.hasOwn(RULES, value);
}
