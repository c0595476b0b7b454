// `npm run console:screenshots`: the pictures in docs/console.md. Starts Locus on a throwaway data
// directory with a few example users, signs in to the console in Debian's Chromium (through
// playwright-core; LOCUS_TEST_CHROMIUM names another binary) and saves each main page under
// docs/img/console-*.png.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { buildApp } from '../src/app.ts';
import { signRequestHeaders } from '../src/auth/signature.ts';
import { loadConfig } from '../src/config.ts';
import { projectRoot } from '../src/platform/paths.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'locus-screenshots-'));
const app = await buildApp(loadConfig({ LOCUS_DATA_DIR: dataDir }), { logger: false });
try {
  const base = await app.listen({ host: '127.0.0.1', port: 0 });
  const { applications, moderation } = app.locus;
  const credentials = await applications.create('Chat (production)');
  const appId = credentials.applicationId;
  // Through the API, signed as the application's back end would.
  const signed = async (method: 'POST', path: string, body: unknown) => {
    const text = JSON.stringify(body);
    const headers = signRequestHeaders({
      method,
      path,
      body: text,
      contentType: 'application/json',
      accessKey: credentials.accessKey,
      accessSecret: credentials.accessSecret,
      date: new Date().toUTCString(),
      nonce: randomBytes(16).toString('hex'),
    });
    const answer = await app.inject({ method, url: path, headers, payload: text });
    if (answer.statusCode !== 200) throw new Error(`${path}: ${answer.body}`);
  };
  const people = [
    ['user-alice01', 'Alice Liddell', 'alice@example.com', 'mitter.up.Online'],
    ['user-bob0001', 'Bob Marley', 'bob@example.com', 'mitter.up.Away'],
    ['user-carol01', 'Carol Danvers', 'carol@example.com', 'mitter.up.Online'],
    ['user-dave001', 'Dave Grohl', 'dave@example.com', 'mitter.up.Offline'],
  ] as const;
  for (const [userId, screenName, email, type] of people) {
    await signed('POST', '/v1/users', { userId, screenName: { screenName }, userLocators: [`email:${email}`] });
    await signed('POST', `/v1/users/${userId}/presence`, { type, timeToLive: 0 });
    await signed('POST', `/v1/users/${userId}/tokens`, {});
  }
  await moderation.report(appId, 'user-alice01', { userId: 'user-dave001', reason: 'spam', details: 'Sends the same link to everyone' });
  await moderation.sendFeedback(appId, 'user-carol01', { title: 'Dark mode, please', description: 'The app is bright at night.' });

  const link = await app.locus.console.createLoginLink();
  const browser = await chromium.launch({ executablePath: process.env.LOCUS_TEST_CHROMIUM ?? '/usr/bin/chromium', args: ['--no-sandbox'] });
  try {
    const page = await browser.newPage({ viewport: { width: 1100, height: 760 } });
    await page.goto(`${base}/console/login/${link.secret}`);
    await page.waitForURL(`${base}/console`);
    const shots: Array<[string, string]> = [
      ['applications', '/console'],
      ['application', `/console/applications/${appId}`],
      ['users', `/console/users?applicationId=${appId}&q=a`],
      ['user', `/console/users/${appId}/user-alice01`],
      ['presence', `/console/presence?applicationId=${appId}`],
      ['moderation', `/console/moderation?applicationId=${appId}`],
    ];
    for (const [name, path] of shots) {
      await page.goto(base + path);
      await page.screenshot({ path: join(projectRoot, 'docs', 'img', `console-${name}.png`), fullPage: false });
      console.log(`docs/img/console-${name}.png`);
    }
    await page.setViewportSize({ width: 375, height: 700 });
    await page.goto(`${base}/console/users/${appId}/user-alice01`);
    await page.screenshot({ path: join(projectRoot, 'docs', 'img', 'console-user-375.png') });
    console.log('docs/img/console-user-375.png');
  } finally {
    await browser.close();
  }
} finally {
  await app.close();
  rmSync(dataDir, { recursive: true, force: true });
}
