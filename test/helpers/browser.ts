// Headless Chromium for the console's end-to-end tests: Debian's `chromium` package (installed by
// .ci/run) driven by playwright-core; never a browser download. Without it the tests skip with
// the reason, unless LOCUS_TEST_REQUIRE_SERVICES=1 (CI), where they fail.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM_PATH = process.env.LOCUS_TEST_CHROMIUM ?? '/usr/bin/chromium';

export function unlessChromium(): string | false {
  if (existsSync(CHROMIUM_PATH)) return false;
  const reason = `no Chromium at ${CHROMIUM_PATH} (apt-get install chromium, or set LOCUS_TEST_CHROMIUM)`;
  if (process.env.LOCUS_TEST_REQUIRE_SERVICES === '1') throw new Error(`${reason} (LOCUS_TEST_REQUIRE_SERVICES=1: every test must run)`);
  return reason;
}

export async function launchChromium(): Promise<Browser> {
  // --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
}

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: Array<{ target: string[] }>;
}

/** axe-core's WCAG 2.x A/AA rules on the page; the violations of serious or critical impact. */
export async function seriousAxeViolations(page: Page): Promise<AxeViolation[]> {
  // Evaluated through the DevTools protocol, so the page's CSP (scripts from its own origin only) does not apply.
  await page.evaluate(axeSource);
  // Written as page source: this project compiles without the DOM's types.
  const violations = await page.evaluate<AxeViolation[]>(`axe
    .run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } })
    .then((result) => result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => ({ target: n.target })) })))`);
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

/** True when the page needs no sideways scrolling at its current viewport width. */
export async function fitsWidth(page: Page): Promise<boolean> {
  return page.evaluate<boolean>('document.documentElement.scrollWidth <= window.innerWidth');
}
