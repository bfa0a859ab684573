/**
 * A real headless Chromium (Debian's `chromium`, driven by playwright-core) for the web UI tests,
 * with the flags below (no sandbox, GPU, background networking, updates or sync) and a fresh
 * profile per browser. Without a Chromium the tests are
 * skipped with the reason, except under CI (`CI=true`), where a missing browser is a failure.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { teardown, tmpDir } from './context.ts';

const CANDIDATES = [process.env['CHROMIUM'], '/usr/bin/chromium', '/usr/bin/chromium-browser'];

export const CHROMIUM = CANDIDATES.find((p): p is string => p !== undefined && p !== '' && existsSync(p));

/** `skip` option for browser tests: a reason when no Chromium is here (never under CI). */
export const NO_BROWSER: string | false =
  CHROMIUM === undefined && process.env['CI'] !== 'true'
    ? 'no Chromium found (apt-get install chromium, or set CHROMIUM=/path/to/chromium)'
    : false;

export const SCREENSHOTS = join(import.meta.dirname, '..', '..', 'test-artifacts', 'screenshots');

const FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/** A browser with its own fresh profile, closed after the test. */
export async function openBrowser(t: TestContext): Promise<BrowserContext> {
  if (CHROMIUM === undefined) {
    throw new Error('CI=true but no Chromium was found: .ci/run installs Debian\'s "chromium"');
  }
  const profile = await tmpDir(t, 'arozdfs-chromium-');
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: FLAGS,
    viewport: { width: 1280, height: 900 },
    acceptDownloads: true,
    ignoreHTTPSErrors: true,
  });
  teardown(t).defer(() => context.close());
  return context;
}

/** Fails the test on any page error or console error (a CSP violation shows up as one). */
export function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(`console: ${msg.text()}`);
  });
  return errors;
}

/** The widths every page is shot at: a desktop window and a phone (390 px, an iPhone 12–15). */
export const DESKTOP = { width: 1280, height: 900 };
export const PHONE = { width: 390, height: 844 };

/**
 * Elements that scroll sideways (the page itself, or a box with overflow-x auto/scroll whose content
 * is wider than it), described for a failure message; empty when nothing does.
 */
export async function sidewaysScroll(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const found: string[] = [];
    const root = document.documentElement;
    if (root.scrollWidth > root.clientWidth)
      found.push(`the page (${root.scrollWidth} > ${root.clientWidth})`);
    for (const el of document.querySelectorAll('body *')) {
      const style = getComputedStyle(el);
      if (!['auto', 'scroll'].includes(style.overflowX)) continue;
      if (el.scrollWidth > el.clientWidth + 1) {
        const what = el.getAttribute('data-test') ?? el.className ?? el.tagName;
        found.push(`${el.tagName.toLowerCase()} "${what}" (${el.scrollWidth} > ${el.clientWidth})`);
      }
    }
    return found;
  });
}

/**
 * Screenshots of the page as it is, at desktop width (`<name>.png`) and at phone width
 * (`<name>-390.png`), full page. At phone width nothing may scroll sideways: a page that does fails
 * the test that shot it.
 */
export async function screenshot(page: Page, name: string): Promise<void> {
  await mkdir(SCREENSHOTS, { recursive: true });
  const before = page.viewportSize() ?? DESKTOP;
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
  await page.setViewportSize(PHONE);
  try {
    // One frame for the layout at the new width.
    await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => resolve(null))));
    const sideways = await sidewaysScroll(page);
    await page.screenshot({ path: join(SCREENSHOTS, `${name}-390.png`), fullPage: true });
    if (sideways.length > 0) {
      throw new Error(`"${name}" scrolls sideways at ${PHONE.width} px: ${sideways.join('; ')}`);
    }
  } finally {
    await page.setViewportSize(before);
  }
}
