/**
 * Folders on the Files page in real headless Chromium: a nested folder chosen with the directory
 * picker is uploaded as one job, shows as a folder (files and bytes), opens, a file in it downloads
 * with one click (checked by hash), and the folder is deleted after the password. Screenshots of
 * the folder view at both widths.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import type { Locator } from 'playwright-core';
import { NO_BROWSER, openBrowser, screenshot, watchErrors } from '../helpers/browser.ts';
import { tmpDir } from '../helpers/context.ts';
import { testBytes } from '../helpers/random.ts';
import { pairAll, startTestnet, testnetTemplates } from '../helpers/testnet.ts';
import { until } from '../helpers/until.ts';
import { PASSWORD, WebClient } from '../helpers/web.ts';

const templates = testnetTemplates(2);
const TIMEOUT = 30_000;
const sel = (name: string) => `[data-test="${name}"]`;
const text = async (locator: Locator) => (await locator.textContent()) ?? '';
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

test('a folder chosen in the browser is uploaded as one job, browsed, downloaded from and deleted', {
  skip: NO_BROWSER,
  timeout: 120_000,
}, async (t: TestContext) => {
  const homes = await templates.homes(t);
  await pairAll(homes);
  const [a] = await startTestnet(t, homes, { web: { address: '' } });
  await WebClient.of(a!.daemon).setup(a!.daemon);
  const dir = await tmpDir(t);
  const album = join(dir, 'album');
  const inner = testBytes(300_000);
  await mkdir(join(album, 'sub', 'deep'), { recursive: true });
  await writeFile(join(album, 'top.txt'), 'at the top\n');
  await writeFile(join(album, 'sub', 'photo 1.bin'), inner);
  await writeFile(join(album, 'sub', 'deep', 'ü.txt'), 'deep down\n');

  const browser = await openBrowser(t);
  browser.setDefaultTimeout(TIMEOUT);
  const page = await browser.newPage();
  const errors = watchErrors(page);
  await page.goto(a!.daemon.web!.url());
  await page.locator(sel('login-password')).fill(PASSWORD);
  await page.locator(sel('login-submit')).click();
  await page.locator(sel('own-pairing')).waitFor();
  await page.locator(sel('nav-files')).click();

  // The directory picker (webkitdirectory): every file with its path inside the folder.
  await page.locator(sel('upload-folder')).setInputFiles(album);
  await until('the page counts the files chosen', async () =>
    /^3 files \(/.test(await text(page.locator(sel('upload-chosen')))),
  );
  await page.locator(sel('upload-start')).click();
  const job = page.locator(sel('job-row')).first();
  await until(
    'the folder upload job is done',
    async () => (await job.locator('[data-state="done"]').count()) === 1,
  );
  t.assert.match(await text(job), /Upload \(folder\)/);
  t.assert.match(await text(job), /album\/ \(3 files\)/);
  t.assert.match(await text(page.locator(sel('upload-progress-label'))), /3 of 3 files/);
  const names = a!.daemon.ops.catalog
    .list()
    .map((f) => f.name)
    .sort();
  t.assert.deepStrictEqual(names, ['album/sub/deep/ü.txt', 'album/sub/photo 1.bin', 'album/top.txt']);

  const folder = page.locator(`${sel('folder-row')}[data-path="album"]`);
  await until('the top lists the folder with its 3 files', async () =>
    /album\/\s*3\s*29[0-9.]+ KiB/.test(await text(folder)),
  );
  await screenshot(page, '14-files-folders');

  await folder.locator(sel('folder-open')).click();
  await until(
    'the breadcrumb names the folder',
    async () => (await text(page.locator(sel('crumb-here')))) === 'album',
  );
  await page.locator(`${sel('folder-row')}[data-path="album/sub"] ${sel('folder-open')}`).click();
  await until(
    'the breadcrumb names the sub-folder',
    async () => (await text(page.locator(sel('crumb-here')))) === 'sub',
  );
  const id = a!.daemon.ops.catalog.list().find((f) => f.name === 'album/sub/photo 1.bin')!.id;
  const row = page.locator(`${sel('file-row')}[data-id="${id}"]`);
  await row.waitFor();
  t.assert.match(await text(row), /^photo 1\.bin/);
  await screenshot(page, '14b-files-in-folder');
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    row.locator(sel('file-download')).click(),
  ]);
  t.assert.strictEqual(download.suggestedFilename(), 'photo 1.bin');
  const saved = join(dir, 'saved.bin');
  await download.saveAs(saved);
  t.assert.strictEqual(
    sha256(await readFile(saved)),
    sha256(inner),
    'the browser got the file, byte for byte',
  );

  // Files dropped on the page (a DataTransfer made in the page) go into the folder shown.
  await page.evaluate(() => {
    const data = new DataTransfer();
    data.items.add(new File(['x'], 'x.txt'));
    data.items.add(new File(['yy'], 'y.txt'));
    const zone = document.querySelector('[data-test="upload-drop"]');
    zone?.dispatchEvent(new DragEvent('drop', { dataTransfer: data, bubbles: true, cancelable: true }));
  });
  await until('the dropped files are chosen', async () =>
    /^2 files \(.*into “album\/sub”/.test(await text(page.locator(sel('upload-chosen')))),
  );
  await page.locator(sel('upload-start')).click();
  await until(
    'both files are in the folder',
    async () =>
      a!.daemon.ops.catalog.list().filter((f) => /^album\/sub\/[xy]\.txt$/.test(f.name)).length === 2,
  );
  await until('the page lists them', async () => (await page.locator(sel('file-row')).count()) === 3);

  // Back to the top, then the whole folder goes after the password.
  await page.locator(sel('crumb')).first().click();
  await folder.locator(sel('folder-delete')).click();
  const dialog = page.locator('dialog.reauth');
  t.assert.match(await text(dialog), /Delete the folder “album” and the 5 files in it\?/);
  await page.locator(sel('reauth-password')).fill(PASSWORD);
  await page.locator(sel('reauth-ok')).click();
  await folder.waitFor({ state: 'detached' });
  t.assert.deepStrictEqual(a!.daemon.ops.catalog.list(), []);
  t.assert.deepStrictEqual(
    errors.filter((e) => !e.includes('Failed to load resource')),
    [],
  );
});
