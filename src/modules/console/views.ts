// The console's pages, rendered on the server as plain HTML (docs/console.md): no framework, no
// build step, no CDN; one small script (assets/console.js) for the forms that write, and one
// stylesheet. Every value is escaped here, in one place.
import type { ApplicationListing } from '../applications/service.ts';

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text safe inside HTML elements and quoted attributes. */
export function escape(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => ESCAPES[c] as string);
}

interface PageOptions {
  title: string;
  /** The navigation entry to mark as the current page; null: no navigation (signed out). */
  current: 'applications' | null;
}

export function page(options: PageOptions, body: string): string {
  const nav =
    options.current === null
      ? ''
      : `<nav aria-label="Console">
  <ul>
    <li><a href="/console"${options.current === 'applications' ? ' aria-current="page"' : ''}>Applications</a></li>
  </ul>
  <button type="button" id="logout" class="secondary">Sign out</button>
</nav>`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escape(options.title)} · Locus console</title>
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

export function signedInPage(): string {
  return page({ title: 'Signed in', current: null }, `<p>You are signed in. <a href="/console" id="continue">Continue to the console</a>.</p>`);
}

export function applicationsPage(applications: ApplicationListing[]): string {
  const rows = applications
    .map((application) => {
      const active = application.accessKeys.filter((key) => key.revokedAt === null);
      return `<tr>
  <th scope="row">${escape(application.name)}</th>
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
