// The console's pages, rendered on the server as plain HTML (docs/console.md): no framework, no
// build step, no CDN; one small script (assets/console.js) for the forms that write, and one
// stylesheet. Every value is escaped here, in one place.
import type { ApplicationListing } from '../applications/service.ts';
import type { ApplicationSettings } from '../applications/settings.ts';
import type { WebhookListing } from '../webhooks/admin.ts';
import type { TokenListing } from '../tokens/service.ts';
import type { StoredUser } from '../users/types.ts';
import type { LoggedDeletion } from '../users/store.ts';
import type { StoredFeedback, StoredReport } from '../moderation/store.ts';
import type { StoredAttribute } from '../profiles/types.ts';
import type { StoredMetadata } from '../metadata/store.ts';
import type { PresenceLink } from '../presence/chain.ts';

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text safe inside HTML elements and quoted attributes. */
export function escape(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => ESCAPES[c] as string);
}

interface PageOptions {
  title: string;
  /** The navigation entry to mark as the current page; null: no navigation (signed out). */
  current: 'applications' | 'users' | 'presence' | 'events' | 'moderation' | null;
}

export function page(options: PageOptions, body: string): string {
  const nav =
    options.current === null
      ? ''
      : `<nav aria-label="Console">
  <ul>
    <li><a href="/console"${options.current === 'applications' ? ' aria-current="page"' : ''}>Applications</a></li>
    <li><a href="/console/users"${options.current === 'users' ? ' aria-current="page"' : ''}>Users</a></li>
    <li><a href="/console/presence"${options.current === 'presence' ? ' aria-current="page"' : ''}>Presence</a></li>
    <li><a href="/console/events"${options.current === 'events' ? ' aria-current="page"' : ''}>Events</a></li>
    <li><a href="/console/moderation"${options.current === 'moderation' ? ' aria-current="page"' : ''}>Reports, feedback, deletions</a></li>
  </ul>
  <button type="button" id="logout" class="secondary">Sign out</button>
</nav>`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escape(options.title)} · Locus console</title>
<link rel="icon" href="/console/assets/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/console/assets/console.css">
<script src="/console/assets/console.js" defer></script>
</head>
<body>
<a class="skip" href="#main">Skip to the content</a>
<header>
  <p class="brand">Locus console</p>
  ${nav}
</header>
<main id="main">
<h1>${escape(options.title)}</h1>
${body}
</main>
</body>
</html>
`;
}

export function signedOutPage(reason: 'no_session' | 'link_refused'): string {
  const why =
    reason === 'link_refused'
      ? '<p>This login link was already used, has expired, or is not a login link. Each link opens the console once.</p>'
      : '<p>You are not signed in to the console (or your session ended).</p>';
  return page(
    { title: 'Sign in', current: null },
    `${why}
<p>To sign in, run this where Locus runs (it uses the same database settings as the server), and open the link it prints:</p>
<pre><code>npm run locus -- console login-link</code></pre>
<p>A link is valid for 10 minutes (<code>--ttl 30m</code> to change) and opens one session of 8 hours.</p>`,
  );
}

export function errorPage(title: string, message: string): string {
  return page({ title, current: 'applications' }, `<p role="alert">${escape(message)}</p>\n<p><a href="/console">Back to the console</a></p>`);
}

export function signedInPage(): string {
  return page({ title: 'Signed in', current: null }, `<p>You are signed in. <a href="/console" id="continue">Continue to the console</a>.</p>`);
}

export function applicationsPage(applications: ApplicationListing[]): string {
  const rows = applications
    .map((application) => {
      const active = application.accessKeys.filter((key) => key.revokedAt === null);
      return `<tr>
  <th scope="row"><a href="/console/applications/${encodeURIComponent(application.applicationId)}">${escape(application.name)}</a></th>
  <td><code>${escape(application.applicationId)}</code></td>
  <td>${escape(application.createdAt)}</td>
  <td>${active.map((key) => `<code>${escape(key.accessKey)}</code>`).join('<br>') || 'none'}</td>
</tr>`;
    })
    .join('\n');
  return page(
    { title: 'Applications', current: 'applications' },
    `<section aria-labelledby="list-heading">
<h2 id="list-heading">${applications.length === 1 ? '1 application' : `${applications.length} applications`}</h2>
<div class="scroll" tabindex="0" role="region" aria-label="Applications table">
<table>
<thead><tr><th scope="col">Name</th><th scope="col">Application id</th><th scope="col">Created</th><th scope="col">Active access keys</th></tr></thead>
<tbody>
${rows}
</tbody>
</table>
</div>
</section>
<section aria-labelledby="create-heading">
<h2 id="create-heading">Create an application</h2>
<form id="create-application">
  <label for="application-name">Name</label>
  <input id="application-name" name="name" required maxlength="128" autocomplete="off">
  <button type="submit">Create</button>
</form>
<div id="created" role="status" aria-live="polite"></div>
</section>`,
  );
}

export interface UsersView {
  applications: ApplicationListing[];
  applicationId: string | null;
  query: string;
  /** What the search found (null: nothing searched yet). */
  users: StoredUser[] | null;
  /** A problem with the query, shown instead of results. */
  problem: string | null;
  /** The last user id of this page when there may be more. */
  next: string | null;
}

const userHref = (applicationId: string, userId: string) => `/console/users/${encodeURIComponent(applicationId)}/${encodeURIComponent(userId)}`;

export function usersPage(view: UsersView): string {
  const options = view.applications
    .map(
      (a) =>
        `<option value="${escape(a.applicationId)}"${a.applicationId === view.applicationId ? ' selected' : ''}>${escape(a.name)} (${escape(a.applicationId)})</option>`,
    )
    .join('');
  const results =
    view.problem !== null
      ? `<p class="error" role="alert">${escape(view.problem)}</p>`
      : view.users === null
        ? ''
        : view.users.length === 0
          ? '<p>No user matches.</p>'
          : `<div class="scroll" tabindex="0" role="region" aria-label="Users found">
<table>
<thead><tr><th scope="col">User id</th><th scope="col">Screen name</th><th scope="col">Locators</th><th scope="col">State</th></tr></thead>
<tbody>
${view.users
  .map(
    (u) => `<tr>
  <th scope="row"><a href="${escape(userHref(u.applicationId, u.userId))}">${escape(u.userId)}</a></th>
  <td>${escape(u.screenName)}</td>
  <td>${u.locators.map((l) => `<code>${escape(l.locator)}</code>`).join('<br>') || 'none'}</td>
  <td>${u.suspended ? 'suspended' : 'active'}</td>
</tr>`,
  )
  .join('\n')}
</tbody>
</table>
</div>${
              view.next === null || view.applicationId === null
                ? ''
                : `<p><a href="/console/users?applicationId=${encodeURIComponent(view.applicationId)}&amp;after=${encodeURIComponent(view.next)}">Next page</a></p>`
            }`;
  return page(
    { title: 'Users', current: 'users' },
    `<form method="get" action="/console/users" class="search" role="search">
  <label for="applicationId">Application</label>
  <select id="applicationId" name="applicationId">${options}</select>
  <label for="q">User id, screen name (its beginning), or locator (email address, phone number in E.164)</label>
  <input id="q" name="q" value="${escape(view.query)}" maxlength="260" autocomplete="off">
  <button type="submit">Search</button>
</form>
<section aria-labelledby="results-heading">
<h2 id="results-heading">${view.query === '' ? 'All users' : `Users matching “${escape(view.query)}”`}</h2>
${results}
</section>`,
  );
}

/** Everything the user page shows besides the user and its tokens. */
export interface UserDetails {
  profile: readonly StoredAttribute[];
  metadata: StoredMetadata[];
  presence: { presence: PresenceLink | null; setTimeMs: number | null };
  lastSeen: { online: boolean; lastSeenMs: number | null };
  blocking: string[];
  blockedBy: string[];
  contacts: string[];
  contactCount: number;
}

/** The transitions a presence will make from now: each link after the active one, with when. */
function nextTransitions(active: PresenceLink, since: number): Array<{ type: string; at: number }> {
  const out: Array<{ type: string; at: number }> = [];
  let link: PresenceLink | null = active;
  let at = since;
  while (link !== null && link.timeToLive > 0 && out.length < 10) {
    at += link.timeToLive * 1000;
    const next: PresenceLink | null = link.expiresTo;
    out.push({ type: next?.type ?? '(none: the chain ends)', at });
    link = next;
  }
  return out;
}

export function userPage(applicationId: string, user: StoredUser, tokens: TokenListing[], details: UserDetails): string {
  const when = (ms: number) => new Date(ms).toISOString();
  const userLink = (userId: string) => `<a href="${escape(userHref(applicationId, userId))}">${escape(userId)}</a>`;
  const idList = (ids: string[]) => (ids.length === 0 ? 'none' : ids.map(userLink).join(', '));
  const tokenRows = tokens
    .map(
      (token) => `<tr>
  <th scope="row"><code>${escape(token.tokenId)}</code></th>
  <td>${escape(when(token.issuedAt))}</td>
  <td>${escape(when(token.expiresAt))}</td>
  <td>${escape(when(token.lastUsedAt))}</td>
  <td>${escape(token.userAgent ?? '')}</td>
  <td><button type="button" class="secondary" data-revoke="${escape(token.tokenId)}">Revoke<span class="visually-hidden"> token ${escape(token.tokenId)}</span></button></td>
</tr>`,
    )
    .join('\n');
  const api = `/console/api/applications/${encodeURIComponent(applicationId)}/users/${encodeURIComponent(user.userId)}`;
  const { presence } = details;
  const transitions = presence.presence === null || presence.setTimeMs === null ? [] : nextTransitions(presence.presence, presence.setTimeMs);
  return page(
    { title: `User ${user.userId}`, current: 'users' },
    `<div id="user" data-api="${escape(api)}">
<dl>
  <dt>Screen name</dt><dd>${escape(user.screenName)}</dd>
  <dt>Application</dt><dd><code>${escape(applicationId)}</code></dd>
  <dt>Created</dt><dd>${escape(user.createdAt.toISOString())}</dd>
  <dt>State</dt><dd>${user.suspended ? 'suspended' : 'active'}</dd>
  <dt>Locators</dt><dd>${user.locators.map((l) => `<code>${escape(l.locator)}</code> (${escape(l.verificationStatus)})`).join('<br>') || 'none'}</dd>
  <dt>Presence</dt><dd>${presence.presence === null ? 'none' : `${escape(presence.presence.type)} since ${escape(when(presence.setTimeMs ?? 0))}`}</dd>
  <dt>Next transitions</dt><dd>${transitions.length === 0 ? 'none' : transitions.map((t) => `${escape(t.type)} at ${escape(when(t.at))}`).join('<br>')}</dd>
  <dt>Last seen</dt><dd>${details.lastSeen.online ? 'online now' : details.lastSeen.lastSeenMs === null ? 'never online' : escape(when(details.lastSeen.lastSeenMs))}</dd>
  <dt>Blocks</dt><dd>${idList(details.blocking)}</dd>
  <dt>Blocked by</dt><dd>${idList(details.blockedBy)}</dd>
  <dt>Contacts</dt><dd>${details.contactCount} ${details.contactCount > details.contacts.length ? `(the first ${details.contacts.length}: ` : '('}${idList(details.contacts)})</dd>
</dl>
<section aria-labelledby="profile-heading">
<h2 id="profile-heading">Profile and metadata</h2>
${listTable(
  'Profile',
  ['Attribute', 'Content type', 'Value'],
  details.profile.map((a) => [`<code>${escape(a.key)}</code>`, escape(a.contentType), escape(a.value)]),
)}
${listTable(
  'Metadata',
  ['Key', 'Value'],
  details.metadata.map((m) => [`<code>${escape(m.key)}</code>`, `<code>${escape(JSON.stringify(m.value))}</code>`]),
)}
</section>
<section aria-labelledby="tokens-heading" id="tokens" data-api="${escape(api)}">
<h2 id="tokens-heading">Active tokens (${tokens.length})</h2>
${
  tokens.length === 0
    ? '<p>No active token.</p>'
    : `<div class="scroll" tabindex="0" role="region" aria-label="Active tokens">
<table>
<thead><tr><th scope="col">Token id</th><th scope="col">Issued</th><th scope="col">Expires</th><th scope="col">Last used</th><th scope="col">Client</th><th scope="col">Action</th></tr></thead>
<tbody>
${tokenRows}
</tbody>
</table>
</div>
<p><button type="button" id="revoke-all">Revoke all tokens</button></p>`
}
<div id="tokens-status" role="status" aria-live="polite"></div>
</section>
<section aria-labelledby="suspension-heading">
<h2 id="suspension-heading">Suspension</h2>
${
  user.suspended
    ? '<p>The user is suspended: its tokens are refused and it cannot log in.</p><p><button type="button" id="reinstate">Reinstate</button></p>'
    : `<form id="suspend-user">
  <label for="suspend-reason">Reason (kept, and sent in the user.suspended event)</label>
  <input id="suspend-reason" name="reason" required maxlength="200" autocomplete="off">
  <button type="submit">Suspend</button>
</form>`
}
</section>
<section aria-labelledby="delete-heading">
<h2 id="delete-heading">Delete the user</h2>
<form id="delete-user">
  <label for="delete-reason">Reason (kept in the deletions log)</label>
  <input id="delete-reason" name="reason" required maxlength="200" autocomplete="off">
  <label><input type="checkbox" name="confirm" required> I understand that the user, its locators, profile, tokens, blocks and contacts are removed for good</label>
  <button type="submit">Delete</button>
</form>
</section>
<div id="user-status" role="status" aria-live="polite"></div>
</div>`,
  );
}

function applicationPicker(applications: ApplicationListing[], selected: string | null, action: string, extra = ''): string {
  const options = applications
    .map(
      (a) =>
        `<option value="${escape(a.applicationId)}"${a.applicationId === selected ? ' selected' : ''}>${escape(a.name)} (${escape(a.applicationId)})</option>`,
    )
    .join('');
  return `<form method="get" action="${escape(action)}" class="search">
  <label for="applicationId">Application</label>
  <select id="applicationId" name="applicationId">${options}</select>
  ${extra}
  <button type="submit">Show</button>
</form>`;
}

export function presencePage(
  applications: ApplicationListing[],
  applicationId: string | null,
  counts: { counts: Record<string, number>; counted: number; truncated: boolean } | null,
): string {
  const rows =
    counts === null
      ? ''
      : Object.entries(counts.counts)
          .sort(([a], [b]) => (a < b ? -1 : 1))
          .map(
            ([type, count]) => `<tr data-type="${escape(type)}"><th scope="row">${escape(type === 'null' ? '(chain ended)' : type)}</th><td>${count}</td></tr>`,
          )
          .join('\n');
  return page(
    { title: 'Presence', current: 'presence' },
    `${applicationPicker(applications, applicationId, '/console/presence')}
${
  applicationId === null || counts === null
    ? '<p>No application.</p>'
    : `<section aria-labelledby="counts-heading" id="presence" data-application="${escape(applicationId)}">
<h2 id="counts-heading">Users by presence type, now</h2>
<p id="presence-note">${counts.truncated ? `The first ${counts.counted} stored presences.` : `${counts.counted} users with a presence.`} Updates as presence events arrive.</p>
<div class="scroll" tabindex="0" role="region" aria-label="Presence counts">
<table id="presence-counts">
<thead><tr><th scope="col">Type</th><th scope="col">Users</th></tr></thead>
<tbody>
${rows}
</tbody>
</table>
</div>
<h2 id="changes-heading">Latest changes</h2>
<ol id="presence-changes" aria-labelledby="changes-heading" aria-live="polite"></ol>
</section>`
}`,
  );
}

export function eventsPage(applications: ApplicationListing[], applicationId: string | null, types: string, eventTypes: readonly string[]): string {
  const typeField = `<label for="types">Event types (comma-separated; empty: all of ${escape(eventTypes.join(', '))})</label>
  <input id="types" name="types" value="${escape(types)}" maxlength="400" autocomplete="off">`;
  return page(
    { title: 'Events', current: 'events' },
    `${applicationPicker(applications, applicationId, '/console/events', typeField)}
${
  applicationId === null
    ? '<p>No application.</p>'
    : `<section aria-labelledby="tail-heading" id="events" data-application="${escape(applicationId)}" data-types="${escape(types)}" data-event-types="${escape(eventTypes.join(','))}">
<h2 id="tail-heading">Live tail</h2>
<p id="events-state" role="status">Connecting…</p>
<div class="scroll" tabindex="0" role="region" aria-label="Events">
<table>
<thead><tr><th scope="col">Id</th><th scope="col">Type</th><th scope="col">User</th><th scope="col">Data</th></tr></thead>
<tbody id="events-rows"></tbody>
</table>
</div>
</section>`
}`,
  );
}

const settingText = (value: unknown) => (Array.isArray(value) ? value.join(',') : String(value));

export function applicationPage(application: ApplicationListing, settings: ApplicationSettings, webhooks: WebhookListing[]): string {
  const api = `/console/api/applications/${encodeURIComponent(application.applicationId)}`;
  const keys = application.accessKeys
    .map(
      (key) => `<tr>
  <th scope="row"><code>${escape(key.accessKey)}</code></th>
  <td>${escape(key.createdAt)}</td>
  <td>${key.revokedAt === null ? 'active' : `revoked ${escape(key.revokedAt)}`}</td>
  <td>${key.revokedAt === null ? `<button type="button" class="secondary" data-revoke-key="${escape(key.accessKey)}">Revoke<span class="visually-hidden"> key ${escape(key.accessKey)}</span></button>` : ''}</td>
</tr>`,
    )
    .join('\n');
  const settingRows = Object.entries(settings)
    .map(([name, value]) => `<tr><th scope="row"><code>${escape(name)}</code></th><td><code>${escape(settingText(value))}</code></td></tr>`)
    .join('\n');
  const hooks = webhooks
    .map(
      (hook) => `<tr>
  <th scope="row"><code>${escape(hook.id)}</code></th>
  <td>${escape(hook.url)}</td>
  <td>${escape(hook.types?.join(', ') ?? 'all')}</td>
  <td>delivered ${escape(hook.delivered)}, pending ${escape(hook.pending)}, failed attempts ${escape(hook.failedAttempts)}, abandoned ${escape(hook.abandoned)}${
    hook.lastError ? `<br>last error ${escape(hook.lastErrorAt)}: ${escape(hook.lastError)}` : ''
  }</td>
  <td><button type="button" class="secondary" data-remove-webhook="${escape(hook.id)}">Remove<span class="visually-hidden"> webhook ${escape(hook.id)}</span></button></td>
</tr>`,
    )
    .join('\n');
  return page(
    { title: `Application ${application.name}`, current: 'applications' },
    `<div id="application" data-api="${escape(api)}">
<dl>
  <dt>Application id</dt><dd><code>${escape(application.applicationId)}</code></dd>
  <dt>Created</dt><dd>${escape(application.createdAt)}</dd>
</dl>
<section aria-labelledby="rename-heading">
<h2 id="rename-heading">Name</h2>
<form id="rename-application">
  <label for="new-name">Name</label>
  <input id="new-name" name="name" required maxlength="128" value="${escape(application.name)}" autocomplete="off">
  <button type="submit">Rename</button>
</form>
</section>
<section aria-labelledby="keys-heading">
<h2 id="keys-heading">Access keys</h2>
<div class="scroll" tabindex="0" role="region" aria-label="Access keys">
<table>
<thead><tr><th scope="col">Access key</th><th scope="col">Created</th><th scope="col">State</th><th scope="col">Action</th></tr></thead>
<tbody>
${keys}
</tbody>
</table>
</div>
<p><button type="button" id="add-key">Add an access key</button></p>
</section>
<section aria-labelledby="settings-heading">
<h2 id="settings-heading">Settings</h2>
<div class="scroll" tabindex="0" role="region" aria-label="Settings">
<table>
<thead><tr><th scope="col">Setting</th><th scope="col">Value</th></tr></thead>
<tbody>
${settingRows}
</tbody>
</table>
</div>
<form id="update-settings">
  <label for="assignments">Change settings: <code>name=value</code>, one per line (<code>name=default</code> restores one)</label>
  <textarea id="assignments" name="assignments" rows="3" maxlength="4000"></textarea>
  <button type="submit">Save settings</button>
</form>
</section>
<section aria-labelledby="webhooks-heading">
<h2 id="webhooks-heading">Webhooks</h2>
${
  webhooks.length === 0
    ? '<p>No webhook.</p>'
    : `<div class="scroll" tabindex="0" role="region" aria-label="Webhooks">
<table>
<thead><tr><th scope="col">Id</th><th scope="col">URL</th><th scope="col">Types</th><th scope="col">Delivery</th><th scope="col">Action</th></tr></thead>
<tbody>
${hooks}
</tbody>
</table>
</div>`
}
<form id="add-webhook">
  <label for="webhook-url">URL (https, or http to a local address)</label>
  <input id="webhook-url" name="url" required maxlength="2048" autocomplete="off">
  <label for="webhook-types">Event types (comma-separated; empty: all)</label>
  <input id="webhook-types" name="types" maxlength="400" autocomplete="off">
  <button type="submit">Add the webhook</button>
</form>
</section>
<div id="application-status" role="status" aria-live="polite"></div>
</div>`,
  );
}

function listTable(label: string, headers: string[], rows: string[][]): string {
  if (rows.length === 0) return '<p>None.</p>';
  return `<div class="scroll" tabindex="0" role="region" aria-label="${escape(label)}">
<table>
<thead><tr>${headers.map((h) => `<th scope="col">${escape(h)}</th>`).join('')}</tr></thead>
<tbody>
${rows
  .map(
    (cells) =>
      `<tr><th scope="row">${cells[0] ?? ''}</th>${cells
        .slice(1)
        .map((c) => `<td>${c}</td>`)
        .join('')}</tr>`,
  )
  .join('\n')}
</tbody>
</table>
</div>`;
}

export function moderationPage(
  applications: ApplicationListing[],
  applicationId: string | null,
  lists: { reports: StoredReport[]; feedback: StoredFeedback[]; deletions: LoggedDeletion[]; limit: number } | null,
): string {
  const when = (date: Date) => escape(date.toISOString());
  const user = (userId: string) => (applicationId === null ? escape(userId) : `<a href="${escape(userHref(applicationId, userId))}">${escape(userId)}</a>`);
  return page(
    { title: 'Reports, feedback, deletions', current: 'moderation' },
    `${applicationPicker(applications, applicationId, '/console/moderation')}
${
  lists === null
    ? '<p>No application.</p>'
    : `<p>The latest ${lists.limit} of each, newest first.</p>
<section aria-labelledby="reports-heading">
<h2 id="reports-heading">Reports</h2>
${listTable(
  'Reports',
  ['Reported', 'User', 'Reported by', 'Reason', 'Details'],
  lists.reports.map((r) => [when(r.createdAt), user(r.userId), user(r.reporterId), escape(r.reason), escape(r.details ?? '')]),
)}
</section>
<section aria-labelledby="feedback-heading">
<h2 id="feedback-heading">Feedback</h2>
${listTable(
  'Feedback',
  ['Sent', 'User', 'Title', 'Description'],
  lists.feedback.map((f) => [when(f.createdAt), user(f.userId), escape(f.title), escape(f.description)]),
)}
</section>
<section aria-labelledby="deletions-heading">
<h2 id="deletions-heading">Deletions</h2>
${listTable(
  'Deletions',
  ['Deleted', 'User id', 'By', 'Reason', 'Feedback'],
  lists.deletions.map((d) => [
    when(d.deletedAt),
    escape(d.userId),
    escape(d.by === 'self' ? 'the user' : 'the back end'),
    escape(d.reason ?? ''),
    escape(d.feedback ?? ''),
  ]),
)}
</section>`
}`,
  );
}
