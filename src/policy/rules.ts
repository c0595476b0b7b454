// The policy as data (docs/api.md): for every action, which principal kinds may perform it, and
// whether a user may do it to anyone (`allow`) or only to itself (`self`: the route's target user
// must be the acting user). Every route names one of these actions; an action missing here is
// denied to everyone.
import type { PrincipalKind } from '../auth/principal.ts';

export type Grant = 'allow' | 'self';
export type Rule = Partial<Record<PrincipalKind, Grant>>;

export const RULES = {
  /** Liveness and readiness probes. */
  'health.read': { anonymous: 'allow', system: 'allow', user: 'allow' },
  /** Prometheus metrics (the route checks LOCUS_METRICS_TOKEN itself when it is set). */
  'metrics.read': { anonymous: 'allow', system: 'allow', user: 'allow' },
  /** The OpenAPI document and its UI. */
  'docs.read': { anonymous: 'allow', system: 'allow', user: 'allow' },
  /** A CORS preflight that no application's origins allow (answered without CORS headers). */
  'cors.preflight': { anonymous: 'allow', system: 'allow', user: 'allow' },
  /** Open a console session with a one-time login link (the link is the credential). */
  'console.login': { anonymous: 'allow', operator: 'allow' },
  /** The console's script and stylesheet (the sign-in page needs them too). */
  'console.assets': { anonymous: 'allow', operator: 'allow' },
  /** Console pages and reads (docs/console.md): the operator of a console session only. */
  'console.read': { operator: 'allow' },
  /** Console changes to applications (create; the secret is shown once). */
  'console.applications.write': { operator: 'allow' },
  /** Console changes to users (revoke their tokens). */
  'console.users.write': { operator: 'allow' },
  /** End this console session. */
  'console.logout': { operator: 'allow' },
  /** The credential echo: which application am I? */
  'applications.whoami': { system: 'allow', user: 'allow' },

  /** Create a user. */
  'users.create': { system: 'allow' },
  /** List every user of the application (GET /v1/users without locators). */
  'users.list': { system: 'allow' },
  /** Find users by locator (GET /v1/users?locators=…). */
  'users.lookup': { system: 'allow', user: 'allow' },
  /** Read a user, `me`, or screen names. */
  'users.read': { system: 'allow', user: 'allow' },
  /** Delete a user. */
  'users.delete': { system: 'allow' },
  /** A user deletes its own account (with a reason). */
  'users.delete_self': { user: 'self' },
  /** The application's deletions log. */
  'users.deletions.read': { system: 'allow' },
  /** Change a user's screen name. */
  'users.screenname.write': { system: 'allow', user: 'self' },
  /** Add or remove a user's locators. */
  'users.locators.write': { system: 'allow', user: 'self' },
  /** Store a locator as Verified or VerificationPending: a claim only the back end can make. */
  'users.locators.attest': { system: 'allow' },

  /** Define a profile attribute. */
  'profiles.defs.write': { system: 'allow' },
  /** Read the attribute defs. */
  'profiles.defs.read': { system: 'allow', user: 'allow' },
  /** Read a user's profile. */
  'profiles.read': { system: 'allow', user: 'allow' },
  /** Set or remove a user's profile attributes. */
  'profiles.write': { system: 'allow', user: 'self' },

  /** Issue a user token (never to .system itself). */
  'tokens.issue': { system: 'allow' },
  /** List a user's active tokens. */
  'tokens.read': { system: 'allow', user: 'self' },
  /** Extend or revoke a user's tokens. */
  'tokens.write': { system: 'allow', user: 'self' },
  /** GET /v1/users/me/logout: a user revokes the token it presents (or all of its tokens). */
  'tokens.logout': { system: 'allow', user: 'allow' },
  /** A logout link: the link itself is the credential (the route runs as .anonymous, ignoring any other). */
  'tokens.logout_link': { anonymous: 'allow' },
  /** Set a user's password. */
  'users.password.write': { system: 'allow', user: 'self' },
  /** Password login: only callers without credentials log in. */
  'auth.login': { anonymous: 'allow' },

  /** Set a user's presence (.system has none of its own). */
  'presence.write': { system: 'allow', user: 'self' },
  /** Read presences and last seen. */
  'presence.read': { system: 'allow', user: 'allow' },

  /** Set or remove a user's metadata keys. */
  'metadata.write': { system: 'allow', user: 'self' },
  /** Read a user's metadata. */
  'metadata.read': { system: 'allow', user: 'allow' },

  /** Block or unblock users on a user's behalf. */
  'social.blocks.write': { system: 'allow', user: 'self' },
  /** Whom a user blocks, and who blocks it. */
  'social.blocks.read': { system: 'allow', user: 'self' },
  /** Add to or remove from a user's contacts. */
  'social.contacts.write': { system: 'allow', user: 'self' },
  /** A user's contact list (with presence and last seen). */
  'social.contacts.read': { system: 'allow', user: 'self' },
  /** A user's privacy settings. */
  'social.privacy.read': { system: 'allow', user: 'self' },
  'social.privacy.write': { system: 'allow', user: 'self' },

  /** Report a user (users only: the reporter is the acting user). */
  'reports.create': { user: 'allow' },
  /** The application's reports. */
  'reports.read': { system: 'allow' },
  /** Send feedback to the application. */
  'feedback.create': { user: 'allow' },
  'feedback.read': { system: 'allow' },
  /** Suspend or reinstate a user. */
  'users.suspension.write': { system: 'allow' },

  /** A new device starts a QR login link (no credentials: it has none yet). */
  'devices.link.create': { anonymous: 'allow' },
  /** A logged-in user approves a link, logging the new device in as itself. */
  'devices.link.approve': { user: 'allow' },
  /** The new device collects its token (the poll token is the credential; the route runs as .anonymous). */
  'devices.link.collect': { anonymous: 'allow' },

  /** The application's event log (GET /v1/events). */
  'events.read': { system: 'allow' },
  /** A user's own event stream (`me`: .system needs a sudo user). */
  'events.user': { system: 'allow', user: 'allow' },
} as const satisfies Record<string, Rule>;

export type Action = keyof typeof RULES;

export function isAction(value: unknown): value is Action {
  return typeof value === 'string' && Object.hasOwn(RULES, value);
}
