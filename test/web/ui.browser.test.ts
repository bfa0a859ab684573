/**
 * The web UI in a real headless Chromium (test/helpers/browser.ts): two nodes paired entirely
 * through their pages, a file uploaded from the browser and saved back byte-identical; peer-supplied
 * text shown as text; the CSP refusing inline script and framing. Screenshots of every page go to
 * test-artifacts/screenshots/.
 */
import { readdir, readFile, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import type { Locator, Page } from 'playwright-core';
import { formatSize } from '../../src/size.ts';
import { NO_BROWSER, openBrowser, screenshot, watchErrors } from '../helpers/browser.ts';
import { tmpDir } from '../helpers/context.ts';
import { testBytes } from '../helpers/random.ts';
import type { TestNode } from '../helpers/testnet.ts';
import { pairAll, startTestnet, testnetTemplates } from '../helpers/testnet.ts';
import { until } from '../helpers/until.ts';
import { PASSWORD, WebClient } from '../helpers/web.ts';

const templates = testnetTemplates(3);
const skip = NO_BROWSER;
const TIMEOUT = 30_000;

const sel = (name: string) => `[data-test="${name}"]`;

/** Page errors other than failed loads (a 401 before login is expected): CSP violations show here. */
function unexpected(errors: string[]): string[] {
  return errors.filter((e) => !e.includes('Failed to load resource'));
}

async function setUp(page: Page, node: TestNode): Promise<void> {
  await page.goto(node.daemon.web!.url());
  await page.locator(sel('setup-token')).fill(node.daemon.web!.auth.setupToken!);
  await page.locator(sel('setup-password')).fill(PASSWORD);
  await page.locator(sel('setup-repeat')).fill(PASSWORD);
  await page.locator(sel('setup-submit')).click();
  await page.locator(sel('own-pairing')).waitFor();
}

/**
 * Copies `from`'s pairing string with its Copy button and pastes it (Ctrl+V) on `to`'s Host setup
 * page, checks that the preview shows `from`'s fingerprint, and trusts it with the password.
 */
async function pair(t: TestContext, from: Page, to: Page): Promise<void> {
  await from.locator(sel('nav-host')).click();
  const own = await text(from.locator(sel('own-pairing')));
  const fingerprint = await text(from.locator(sel('own-fingerprint')));
  await from.locator(sel('copy-pairing')).click();
  t.assert.strictEqual(await from.evaluate(() => navigator.clipboard.readText()), own);
  await to.bringToFront();
  await to.locator(sel('nav-host')).click();
  await to.locator(sel('paste-pairing')).focus();
  await to.keyboard.press('ControlOrMeta+V');
  t.assert.strictEqual(await to.locator(sel('paste-pairing')).inputValue(), own);
  await to.locator(sel('check-pairing')).click();
  await to.locator(sel('pairing-preview')).waitFor();
  t.assert.strictEqual(await text(to.locator(sel('preview-fingerprint'))), fingerprint);
  await to.locator(sel('trust-peer')).click();
  await to.locator(sel('reauth-password')).fill(PASSWORD);
  await to.locator(sel('reauth-ok')).click();
}

async function text(locator: Locator): Promise<string> {
  return (await locator.textContent()) ?? '';
}

async function peerStatus(page: Page, uuid: string): Promise<string> {
  return text(page.locator(`${sel('peer-row')}[data-uuid="${uuid}"] ${sel('peer-status')}`));
}

test('two nodes pair through their web UIs; a file goes up from the browser and comes back identical', {
  skip,
  timeout: 180_000,
}, async (t: TestContext) => {
  const homes = (await templates.homes(t)).slice(0, 2);
  // Both UIs on 127.0.0.1 (two ports): cookies ignore ports, so each node's cookie has its own name.
  const [a, b] = await startTestnet(t, homes, { web: { address: '127.0.0.1:0' } });
  const browser = await openBrowser(t);
  browser.setDefaultTimeout(TIMEOUT);
  await browser.grantPermissions(['clipboard-read', 'clipboard-write']);
  const pageA = await browser.newPage();
  const errorsA = watchErrors(pageA);
  await pageA.goto(a!.daemon.web!.url());
  await pageA.locator(sel('setup-token')).waitFor();
  await screenshot(pageA, '1-setup');
  await setUp(pageA, a!);

  // Logged in on A; B, on the same host, still asks for its own setup.
  const pageB = await browser.newPage();
  const errorsB = watchErrors(pageB);
  await setUp(pageB, b!);

  // A's pairing string, taken with the page's Copy button, is pasted into B's page.
  await pair(t, pageA, pageB);
  await screenshot(pageA, '2-host-setup');
  await pageB.locator(`${sel('peer-row')}[data-uuid="${a!.uuid}"]`).waitFor();
  await waitFor(async () => /one way/i.test(await peerStatus(pageB, a!.uuid)));
  await screenshot(pageB, '3-host-setup-one-way');
  t.assert.notStrictEqual(b!.daemon.trust.get(a!.uuid), undefined);
  t.assert.strictEqual(a!.daemon.trust.get(b!.uuid), undefined, 'one direction only so far');

  // And B's into A: now both pages say "paired both ways".
  await pair(t, pageB, pageA);
  await waitFor(async () => /both ways/i.test(await peerStatus(pageA, b!.uuid)));
  await waitFor(async () => /both ways/i.test(await peerStatus(pageB, a!.uuid)));
  await screenshot(pageA, '4-host-setup-paired');

  await pageA.locator(sel('nav-keys')).click();
  await pageA.locator(sel('key-row')).first().waitFor();
  await screenshot(pageA, '5-key-manager');

  await pageA.locator(sel('nav-cluster')).click();
  await pageA.locator(`${sel('cluster-node')}[data-uuid="${b!.uuid}"]`).waitFor();
  await waitFor(async () =>
    /online/i.test(await text(pageA.locator(`${sel('cluster-node')}[data-uuid="${b!.uuid}"]`))),
  );
  await screenshot(pageA, '6-cluster');

  // Upload from the browser (the File is streamed by the browser, staged on disk by the daemon).
  const dir = await tmpDir(t);
  const data = testBytes(5 * 1024 * 1024 + 123);
  const source = join(dir, 'film.mkv');
  await writeFile(source, data);
  await pageA.locator(sel('nav-files')).click();
  await pageA.locator(sel('upload-file')).setInputFiles(source);
  await pageA.locator(sel('upload-copies')).fill('2');
  await pageA.locator(sel('upload-shift')).fill('1');
  await pageA.locator(sel('upload-start')).click();
  const row = pageA.locator(sel('file-row')).filter({ hasText: 'film.mkv' });
  await row.waitFor();
  await waitFor(async () => /healthy/i.test(await text(row.locator(sel('file-health')))));
  // Sizes in binary units, exactly as the CLI writes them (not "5.2 MB").
  t.assert.ok((await text(row)).includes(formatSize(data.length)), await text(row));
  await screenshot(pageA, '7-files');
  // One click: the file streams from the cluster to the browser, chunk by chunk.
  const [download] = await Promise.all([
    pageA.waitForEvent('download'),
    row.locator(sel('file-download')).click(),
  ]);
  const saved = join(dir, 'saved.mkv');
  await download.saveAs(saved);
  t.assert.strictEqual(download.suggestedFilename(), 'film.mkv');
  t.assert.ok((await readFile(saved)).equals(data), 'the saved file is byte-identical');
  await waitFor(async () =>
    /every piece was checked/.test(await text(row.locator(sel('file-download-status')))),
  );
  // Delete (an upload of this node): a confirmation that asks for the password, then the row goes.
  await row.locator(sel('file-delete')).click();
  await pageA.locator(sel('reauth-password')).fill(PASSWORD);
  await screenshot(pageA, '7b-files-delete');
  await pageA.locator(sel('reauth-ok')).click();
  await row.waitFor({ state: 'detached' });

  await pageA.locator(sel('logout')).click();
  await pageA.locator(sel('login-password')).waitFor();
  await screenshot(pageA, '8-login');
  t.assert.deepStrictEqual(unexpected(errorsA), []);
  t.assert.deepStrictEqual(unexpected(errorsB), []);
});

test('the login page shows one message at a time, and its reset hint names the real password file', {
  skip,
  timeout: 120_000,
}, async (t: TestContext) => {
  const [home] = await templates.homes(t);
  const [node] = await startTestnet(t, [home!], { web: { address: '127.0.0.1:0' } });
  const browser = await openBrowser(t);
  browser.setDefaultTimeout(TIMEOUT);
  const page = await browser.newPage();
  await setUp(page, node!);
  await page.locator(sel('logout')).click();
  await page.locator(sel('login-password')).waitFor();
  t.assert.match(await text(page.locator(sel('login-note'))), /logged out/i);
  t.assert.ok(
    (await text(page.locator(sel('login-forgot')))).includes(join(node!.home, 'ADDC', 'web-admin.json')),
    'the hint names the file to delete by its full path',
  );
  await page.locator(sel('login-password')).fill('not the password at all');
  await page.locator(sel('login-submit')).click();
  await page.locator(sel('error')).waitFor();
  await screenshot(page, '9-login-wrong-password');
  t.assert.match(await text(page.locator(sel('error'))), /password/i);
  t.assert.strictEqual(await page.locator(sel('login-note')).count(), 0, 'only the error shows');
});

test('peer-supplied text shows as text; the CSP blocks inline script and framing', {
  skip,
  timeout: 120_000,
}, async (t: TestContext) => {
  const [home] = await templates.homes(t);
  const [node] = await startTestnet(t, [home!], { web: { address: '' } });
  const api = WebClient.of(node!.daemon);
  await api.setup(node!.daemon);
  // A file whose name is markup (an index's file name may hold < > " ' =).
  const hostile = `<img src=x onerror="document.title='owned'">.bin`;
  const data = testBytes(10_000);
  const put = await api.request('PUT', `/api/upload?name=${encodeURIComponent(hostile)}&copies=1`, {
    raw: data,
    headers: { 'content-length': String(data.length) },
  });
  t.assert.strictEqual(put.status, 202);

  const browser = await openBrowser(t);
  browser.setDefaultTimeout(TIMEOUT);
  const page = await browser.newPage();
  const errors = watchErrors(page);
  await page.goto(node!.daemon.web!.url());
  await page.locator(sel('login-password')).fill(PASSWORD);
  await page.locator(sel('login-submit')).click();
  await page.locator(sel('own-pairing')).waitFor();
  await page.locator(sel('nav-files')).click();
  const row = page.locator(sel('file-row')).first();
  await row.waitFor();
  t.assert.match(await text(row), /<img src=x onerror="document\.title='owned'">\.bin/);
  t.assert.strictEqual(await page.locator('img[src="x"]').count(), 0);
  t.assert.notStrictEqual(await page.title(), 'owned');
  await screenshot(page, '9-files-hostile-name');

  // Inline script is refused by the CSP even if something managed to insert it.
  const ran = await page.evaluate(() => {
    const s = document.createElement('script');
    s.textContent = 'window.__inline = 1';
    document.body.append(s);
    return (window as unknown as { __inline?: number }).__inline;
  });
  t.assert.strictEqual(ran, undefined);
  t.assert.ok(
    errors.some((e) => /Content Security Policy/i.test(e)),
    'the browser reports the CSP violation',
  );

  // Framed by another page: refused (frame-ancestors 'none'), the frame shows Chromium's error page.
  const framer = await browser.newPage();
  await framer.setContent(`<iframe src="${node!.daemon.web!.url()}"></iframe>`);
  await framer.waitForLoadState('load');
  const framed = framer.frames()[1]!;
  t.assert.strictEqual(framed.url(), 'chrome-error://chromewebdata/', 'the UI never renders inside a frame');
});

test('the cluster page shows nodes seen on loopback mDNS, trusted or not, and updates by itself', {
  skip,
  timeout: 120_000,
}, async (t: TestContext) => {
  const homes = await templates.homes(t);
  await pairAll(homes.slice(0, 2)); // the third node stays unpaired
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  const discovery = { interface: '127.0.0.1', bind: '0.0.0.0', port };
  const [a, b, c] = await startTestnet(t, homes, { discovery, heartbeatMs: 60_000, web: { address: '' } });
  const api = WebClient.of(a!.daemon);
  await api.setup(a!.daemon);
  const browser = await openBrowser(t);
  browser.setDefaultTimeout(TIMEOUT);
  const page = await browser.newPage();
  const errors = watchErrors(page);
  await page.goto(a!.daemon.web!.url());
  await page.locator(sel('login-password')).fill(PASSWORD);
  await page.locator(sel('login-submit')).click();
  await page.locator(sel('nav-cluster')).click();
  const seen = (uuid: string) =>
    page.locator(`${sel('seen-node')}[data-uuid="${uuid}"] ${sel('seen-trust')}`);
  await waitFor(async () => (await seen(b!.uuid).count()) > 0 && (await seen(c!.uuid).count()) > 0);
  t.assert.match(await text(seen(b!.uuid)), /^trusted/);
  t.assert.match(await text(seen(c!.uuid)), /not trusted/);
  const trusted = page.locator(sel('cluster-node'));
  await waitFor(async () => /online/i.test(await text(trusted.first())));
  t.assert.strictEqual(await trusted.count(), 1, 'being seen gives no trust');
  await screenshot(page, '6b-cluster-discovery');

  // B stops: the page notices without a reload.
  await b!.daemon.close();
  const row = page.locator(`${sel('cluster-node')}[data-uuid="${b!.uuid}"]`);
  await waitFor(async () => !/online/i.test(await text(row)));
  await screenshot(page, '6c-cluster-node-offline');
  t.assert.deepStrictEqual(unexpected(errors), []);
});

test('the Key Manager generates and activates a key pair and removes a trusted computer, each behind the password', {
  skip,
  timeout: 120_000,
}, async (t: TestContext) => {
  const homes = (await templates.homes(t)).slice(0, 2);
  await pairAll(homes);
  const [a, b] = await startTestnet(t, homes, { web: { address: '' } });
  const browser = await openBrowser(t);
  browser.setDefaultTimeout(TIMEOUT);
  const page = await browser.newPage();
  const errors = watchErrors(page);
  await setUp(page, a!);
  const before = await text(page.locator(sel('own-fingerprint')));

  await page.locator(sel('nav-keys')).click();
  await page.locator(sel('key-row')).first().waitFor();
  await page.locator(sel('generate-key')).click();
  await page.locator(sel('activate-key')).waitFor();
  t.assert.strictEqual(await page.locator(sel('key-row')).count(), 2);
  t.assert.strictEqual((await a!.daemon.home.keys.list()).length, 2);

  // A wrong password changes nothing and says so in the dialog.
  const activeBefore = a!.daemon.home.config.activeKey;
  await page.locator(sel('activate-key')).click();
  await page.locator(sel('reauth-password')).fill('not the password');
  await page.locator(sel('reauth-ok')).click();
  await page.locator(`dialog ${sel('error')}`).waitFor();
  t.assert.strictEqual(a!.daemon.home.config.activeKey, activeBefore);
  await screenshot(page, '5b-key-manager-wrong-password');
  await page.locator(sel('reauth-password')).fill(PASSWORD);
  await page.locator(sel('reauth-ok')).click();
  await waitFor(async () => a!.daemon.home.config.activeKey !== activeBefore);
  await page.locator(sel('nav-host')).click();
  await waitFor(async () => (await text(page.locator(sel('own-fingerprint')))) !== before);
  const after = (await a!.daemon.home.activeKeyPair()).fingerprint;
  t.assert.strictEqual((await text(page.locator(sel('own-fingerprint')))).replaceAll(' ', ''), after);

  await page.locator(sel('nav-keys')).click();
  const row = page.locator(`${sel('peer-row')}[data-uuid="${b!.uuid}"]`);
  await row.locator(sel('remove-peer')).click();
  await page.locator(sel('reauth-password')).fill(PASSWORD);
  await page.locator(sel('reauth-ok')).click();
  await waitFor(async () => (await row.count()) === 0);
  t.assert.strictEqual(a!.daemon.trust.get(b!.uuid), undefined, 'removed at once');
  await screenshot(page, '5c-key-manager-after');

  const NEW = 'a brand new password';
  await page.locator(sel('password-current')).fill(PASSWORD);
  await page.locator(sel('password-new')).fill(NEW);
  await page.locator(sel('password-repeat')).fill(NEW);
  await page.locator(sel('password-change')).click();
  await page.getByText('The password was changed').waitFor();
  await page.locator(sel('logout')).click();
  await page.locator(sel('login-password')).fill(NEW);
  await page.locator(sel('login-submit')).click();
  await page.locator(sel('logout')).waitFor(); // logged in again, with the new password
  t.assert.deepStrictEqual(unexpected(errors), []);
});

test('an upload can be stopped while the browser sends it: nothing stays staged, its job is cancelled', {
  skip,
  timeout: 120_000,
}, async (t: TestContext) => {
  const [home] = await templates.homes(t);
  const [node] = await startTestnet(t, [home!], { web: { address: '' } });
  const dir = await tmpDir(t);
  const big = join(dir, 'big.iso');
  await writeFile(big, '');
  await truncate(big, 4 * 1024 ** 3); // sparse: costs no disk to make
  const browser = await openBrowser(t);
  browser.setDefaultTimeout(TIMEOUT);
  const page = await browser.newPage();
  await setUp(page, node!);
  await page.locator(sel('nav-files')).click();
  await page.locator(sel('upload-file')).setInputFiles(big);
  await page.locator(sel('upload-start')).click();
  await page.locator(sel('upload-stop')).click();
  await page.locator(sel('error')).waitFor();
  t.assert.match(await text(page.locator(sel('error'))), /stopped/i);
  const uploads = join(node!.home, 'uploads');
  await waitFor(async () => (await readdir(uploads).catch(() => [])).length === 0);
  // The job started with the request (staging and sending overlap); stopping the request cancels it.
  await waitFor(async () =>
    node!.daemon.jobs.list().every((j) => j.state === 'cancelled' || j.state === 'failed'),
  );
});

/** Polls `check` until it holds; a timeout names the check by its source. */
async function waitFor(check: () => Promise<boolean>, ms = TIMEOUT): Promise<void> {
  await until(`the page: ${check.toString()}`, check, { timeoutMs: ms, intervalMs: 100 });
}
