/**
 * The cluster page shows what each computer's scrub found — this computer's and each trusted
 * computer's — in a real headless Chromium, from /api/cluster. Real daemons, disks and a flipped byte.
 */
import { type TestContext, test } from 'node:test';
import type { Locator } from 'playwright-core';
import { NO_BROWSER, openBrowser, watchErrors } from '../helpers/browser.ts';
import { pairAll, startTestnet, testnetTemplates } from '../helpers/testnet.ts';
import { until } from '../helpers/until.ts';
import { PASSWORD, WebClient } from '../helpers/web.ts';
import { flipByte, putChunk } from '../node/task-helpers.ts';

const templates = testnetTemplates(2);
const sel = (name: string) => `[data-test="${name}"]`;
const text = async (locator: Locator) => (await locator.textContent()) ?? '';

test('the cluster page shows each computer’s scrub: nothing found here, a damaged piece set aside there', {
  skip: NO_BROWSER,
  timeout: 120_000,
}, async (t: TestContext) => {
  const homes = await templates.homes(t);
  await pairAll(homes);
  const scrub = { startDelayMs: 0, passSeconds: 3600, maxBytesPerSecond: 256 * 1024 * 1024 };
  const [a, b] = await startTestnet(t, homes, { scrub, web: { address: '' } });
  await until('the first passes', () => a!.daemon.scrub.passes >= 1 && b!.daemon.scrub.passes >= 1);
  const bad = await putChunk(b!, 50_000);
  await flipByte(b!, bad.uuid);
  b!.daemon.scrub.wake();
  await until('b’s second pass', () => b!.daemon.scrub.passes >= 2);

  const api = WebClient.of(a!.daemon);
  await api.setup(a!.daemon);
  const cluster = (await api.get('/api/cluster')).json as {
    self: { scrub: Record<string, unknown> };
    nodes: Array<{ nodeUuid: string; scrub: Record<string, unknown> | null }>;
  };
  t.assert.strictEqual(cluster.self.scrub['corrupt'], 0);
  const there = cluster.nodes.find((n) => n.nodeUuid === b!.uuid)?.scrub;
  t.assert.deepStrictEqual([there?.['corrupt'], there?.['quarantined']], [1, { chunks: 1, bytes: 50_000 }]);

  const browser = await openBrowser(t);
  browser.setDefaultTimeout(30_000);
  const page = await browser.newPage();
  const errors = watchErrors(page);
  await page.goto(a!.daemon.web!.url());
  await page.locator(sel('login-password')).fill(PASSWORD);
  await page.locator(sel('login-submit')).click();
  await page.locator(sel('nav-cluster')).click();
  await until(
    'this computer’s scrub on the page',
    async () => (await text(page.locator(sel('self-scrub')))) === 'no damage found',
  );
  const row = page.locator(`${sel('cluster-node')}[data-uuid="${b!.uuid}"]`);
  await until('the trusted computer’s scrub on the page', async () =>
    /scrub: 1 damaged piece found; 1 set aside \(/.test(await text(row)),
  );
  t.assert.deepStrictEqual(
    errors.filter((e) => !e.includes('Failed to load resource')),
    [],
  );
});
