// The operator console in a real headless Chromium (Debian's package, driven by playwright-core):
// sign in with a link from the CLI (and not twice), create an application and see its secret once,
// find a user by screen name and by email, revoke their tokens and see the API refuse the old one,
// no serious axe-core violation on any page, every page usable at 375 px wide, and a console write
// from a page of another origin refused.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import type { Browser, BrowserContext } from 'playwright-core';
import { runCli } from '../../src/cli.ts';
import { buildTestApp } from '../helpers/app.ts';
import { fitsWidth, launchChromium, seriousAxeViolations, unlessChromium } from '../helpers/browser.ts';
import { ManualClock } from '../helpers/clock.ts';

const noChromium = unlessChromium();

t.test('the console in Chromium', { skip: noChromium }, async (t) => {
  // The CLI works on the real clock (it prunes what expired by it): the server starts there too.
  const test = await buildTestApp(t, { clock: new ManualClock(Date.now()) });
  const base = await test.app.listen({ host: '127.0.0.1', port: 0 });
  const appId = test.credentials.applicationId;
  for (const [userId, screenName, email] of [
    ['user-alice1', 'Alice Liddell', 'alice@example.com'],
    ['user-bob001', 'Bob Builder', 'bob@example.com'],
  ] as const) {
    const created = await test.signed('POST', '/v1/users', { body: JSON.stringify({ userId, screenName: { screenName }, userLocators: [`email:${email}`] }) });
    t.equal(created.statusCode, 200);
  }
  const token = (await test.signed('POST', '/v1/users/user-alice1/tokens', { body: '{}' })).json().userToken.signedToken as string;
  const apiAsAlice = () => test.app.inject({ method: 'GET', url: '/v1/users/me', headers: { 'x-issued-mitter-user-authorization': token } });
  t.equal((await apiAsAlice()).statusCode, 200);

  const loginLink = async () => {
    let out = '';
    t.equal(await runCli(['console', 'login-link', '--json'], { env: test.database.env, stdout: (s) => (out += s), stderr: () => undefined }), 0);
    // The CLI prints the public URL; this server listens on a port of its own.
    return base + new URL((JSON.parse(out) as { url: string }).url).pathname;
  };

  const browser: Browser = await launchChromium();
  t.teardown(() => browser.close());
  const context: BrowserContext = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const pageErrors: string[] = [];
  page.on('pageerror', (error) => pageErrors.push(error.message));
  page.on('console', (message) => {
    // A signed-out page is a 401 on purpose; anything else that fails to load is a fault.
    if (message.type() === 'error' && !message.text().includes('status of 401')) pageErrors.push(message.text());
  });

  t.test('signed out, the console explains how to sign in', async (t) => {
    await page.goto(`${base}/console`);
    t.equal(await page.locator('h1').textContent(), 'Sign in');
    t.match(await page.locator('main').textContent(), 'console login-link');
  });

  const link = await loginLink();
  t.test('a login link signs in once', async (t) => {
    await page.goto(link);
    await page.waitForURL(`${base}/console`);
    t.equal(await page.locator('h1').textContent(), 'Applications');
    const cookies = await context.cookies();
    t.match(
      cookies.find((c) => c.name === 'locus_console'),
      { httpOnly: true, sameSite: 'Strict', path: '/console' },
    );
    const other = await browser.newContext();
    const second = await other.newPage();
    await second.goto(link);
    t.match(await second.locator('main').textContent(), 'already used', 'the same link in another browser');
    await second.goto(`${base}/console`);
    t.equal(await second.locator('h1').textContent(), 'Sign in', 'and that browser is not signed in');
    await other.close();
  });

  t.test('create an application: the secret is shown once', async (t) => {
    await page.goto(`${base}/console`);
    await page.getByLabel('Name').fill('Chat staging');
    await page.getByRole('button', { name: 'Create' }).click();
    const created = page.locator('#created');
    await created.getByText('Access secret').waitFor();
    const secret = (await created.locator('dd code').nth(2).textContent()) ?? '';
    t.ok(secret.length > 20, 'the secret is on the page');
    await page.reload();
    t.match(await page.locator('table').textContent(), 'Chat staging', 'listed after a reload');
    t.notMatch(await page.content(), secret, 'and the secret is gone');
  });

  t.test('find a user by screen name and by email; revoke their tokens; the API refuses the old token', async (t) => {
    await page.goto(`${base}/console/users?applicationId=${appId}`);
    await page.getByLabel(/^User id, screen name/).fill('alice');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.waitForURL(/q=alice/);
    t.equal(await page.locator('tbody tr').count(), 1, 'one user by screen name');
    await page.getByLabel(/^User id, screen name/).fill('bob@example.com');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.waitForURL(/q=bob/);
    t.same(await page.locator('tbody th a').allTextContents(), ['user-bob001'], 'one user by email');

    await page.goto(`${base}/console/users?applicationId=${appId}&q=alice`);
    await page.getByRole('link', { name: 'user-alice1' }).click();
    t.equal(await page.locator('h1').textContent(), 'User user-alice1');
    await page.getByRole('button', { name: 'Revoke all tokens' }).click();
    await page.getByText('No active token.').waitFor();
    t.equal((await apiAsAlice()).statusCode, 401, 'the API refuses the revoked token');

    await page.getByLabel(/^Reason \(kept, and sent/).fill('spam');
    await page.getByRole('button', { name: 'Suspend' }).click();
    await page.getByRole('button', { name: 'Reinstate' }).waitFor();
    t.equal((await test.app.locus.users.get(appId, 'user-alice1')).suspended, true, 'suspended');
    await page.getByRole('button', { name: 'Reinstate' }).click();
    await page.getByRole('button', { name: 'Suspend' }).waitFor();
    t.equal((await test.app.locus.users.get(appId, 'user-alice1')).suspended, false, 'and reinstated');
  });

  t.test('an application: rename it, add a key (its secret shown once), a bad setting explained', async (t) => {
    await page.goto(`${base}/console/applications/${appId}`);
    await page.getByRole('textbox', { name: 'Name', exact: true }).fill('Renamed app');
    await page.getByRole('button', { name: 'Rename' }).click();
    await page.getByRole('heading', { level: 1, name: 'Application Renamed app' }).waitFor();
    t.equal((await test.app.locus.applications.get(appId))?.name, 'Renamed app', 'renamed');

    await page.getByRole('button', { name: 'Add an access key' }).click();
    const status = page.locator('#application-status');
    await status.getByText('Access secret').waitFor();
    t.ok(((await status.locator('dd code').nth(1).textContent()) ?? '').length > 20, 'the new secret is on the page');

    const errorsBefore = pageErrors.length;
    await page.getByLabel(/^Change settings/).fill('noSuchSetting=1');
    await page.getByRole('button', { name: 'Save settings' }).click();
    await status.locator('p.error').waitFor();
    t.match(await status.locator('p.error').textContent(), /^Settings not saved: /, 'the refusal is shown');
    // The browser logs the refused request itself; that one line is expected, and nothing else.
    const logged = pageErrors.splice(errorsBefore);
    t.equal(logged.length, 1);
    t.match(logged[0], /status of 400/);
  });

  t.test('live presence: a change arrives without reloading; the events tail shows new events', async (t) => {
    await page.goto(`${base}/console/presence?applicationId=${appId}`);
    await page.locator('#presence-counts').waitFor();
    // The page's stream may not be open yet: a set before it opens is not streamed, so set again until one shows.
    const before = await page.evaluate<number>('performance.getEntriesByType("navigation").length');
    let arrived = false;
    for (let attempt = 0; attempt < 20 && !arrived; attempt++) {
      const set = await test.signed('POST', '/v1/users/user-bob001/presence', { body: JSON.stringify({ type: 'mitter.up.Online', timeToLive: 0 }) });
      t.equal(set.statusCode, 200);
      arrived = await page
        .getByText('user-bob001: mitter.up.Online')
        .first()
        .waitFor({ timeout: 1_000 })
        .then(
          () => true,
          () => false,
        );
    }
    t.ok(arrived, 'the change is listed');
    await page.locator('#presence-counts tr[data-type="mitter.up.Online"] td').waitFor();
    t.equal(await page.locator('#presence-counts tr[data-type="mitter.up.Online"] td').textContent(), '1', 'and counted');
    t.equal(await page.evaluate<number>('performance.getEntriesByType("navigation").length'), before, 'without reloading');

    await page.goto(`${base}/console/events?applicationId=${appId}&types=user.created`);
    await page.getByText('Live: new events appear at the top.').waitFor();
    const created = await test.signed('POST', '/v1/users', { body: JSON.stringify({ userId: 'user-carol1', screenName: { screenName: 'Carol' } }) });
    t.equal(created.statusCode, 200);
    await page.locator('#events-rows tr', { hasText: 'user-carol1' }).waitFor();
    t.match(await page.locator('#events-rows tr').first().textContent(), 'user.created');
  });

  t.test('every page: no serious axe-core violation, and usable at 375 px', async (t) => {
    const pages = [
      '/console',
      `/console/users?applicationId=${appId}`,
      `/console/users?applicationId=${appId}&q=alice`,
      `/console/users/${appId}/user-bob001`,
      `/console/presence?applicationId=${appId}`,
      `/console/events?applicationId=${appId}`,
      `/console/applications/${appId}`,
      `/console/moderation?applicationId=${appId}`,
    ];
    for (const path of pages) {
      await page.setViewportSize({ width: 1280, height: 900 });
      await page.goto(base + path);
      t.same(await seriousAxeViolations(page), [], `axe: ${path}`);
      await page.setViewportSize({ width: 375, height: 800 });
      await page.goto(base + path);
      t.ok(await fitsWidth(page), `no sideways scrolling at 375 px: ${path}`);
      t.ok(await page.locator('h1').isVisible(), `the heading shows at 375 px: ${path}`);
    }
    const signedOut = await browser.newContext({ viewport: { width: 375, height: 800 } });
    const outPage = await signedOut.newPage();
    await outPage.goto(`${base}/console`);
    t.same(await seriousAxeViolations(outPage), [], 'axe: the sign-in page');
    t.ok(await fitsWidth(outPage), 'the sign-in page at 375 px');
    await signedOut.close();
  });

  t.test('a console write from a page of another origin is refused', async (t) => {
    const foreign = createServer((_request, response) =>
      response.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>elsewhere</title>'),
    );
    await new Promise<void>((resolve) => foreign.listen(0, '127.0.0.1', resolve));
    t.teardown(() => new Promise<void>((resolve) => foreign.close(() => resolve())));
    const before = (await test.app.locus.applications.list()).length;
    const elsewhere = await context.newPage();
    await elsewhere.goto(`http://127.0.0.1:${(foreign.address() as AddressInfo).port}/`);
    // A "simple" request (no preflight), which the browser sends with the session cookie: the same
    // site (127.0.0.1), another origin (port). Only the console's Origin check stands in the way.
    const sent = await elsewhere.evaluate(
      `fetch(${JSON.stringify(`${base}/console/api/applications`)}, { method: 'POST', mode: 'no-cors', credentials: 'include', headers: { 'content-type': 'text/plain' }, body: '{"name":"forged"}' }).then(() => 'sent', (e) => String(e))`,
    );
    t.equal(sent, 'sent', 'the browser sent it');
    t.equal((await test.app.locus.applications.list()).length, before, 'nothing was created');
    await elsewhere.close();
  });

  t.test('no script error on any page', async (t) => {
    t.same(pageErrors, []);
  });
});
