/**
 * The cluster page shows what the trash holds — this computer's (with its grace period) and each
 * trusted computer's — in a real headless Chromium, from /api/cluster. Real daemons and disks.
 */
import { type TestContext, test } from 'node:test';
import type { Locator } from 'playwright-core';
import { RemoteStore } from '../../src/transport/remote-store.ts';
import { newUuid } from '../../src/uuid.ts';
import { NO_BROWSER, openBrowser, screenshot, watchErrors } from '../helpers/browser.ts';
import { pairAll, startTestnet, type TestNode, testnetTemplates } from '../helpers/testnet.ts';
import { until } from '../helpers/until.ts';
import { PASSWORD, WebClient } from '../helpers/web.ts';
import { put } from '../store/helpers.ts';

const templates = testnetTemplates(2);
const sel = (name: string) => `[data-test="${name}"]`;

const text = async (locator: Locator) => (await locator.textContent()) ?? '';

/** `from` puts a chunk of `size` bytes on `to` and deletes it (into to's trash). */
async function trashOn(from: TestNode, to: TestNode, size: number): Promise<void> {
  const store = new RemoteStore(await from.daemon.pool.session(to.uuid), to.uuid);
  const uuid = newUuid();
  await put(store, uuid, Buffer.alloc(size, 9), { meta: { uploader: from.uuid } });
  await store.delete(uuid, { by: from.uuid });
}

test('the cluster page shows the trash of this computer and of each trusted computer', {
  skip: NO_BROWSER,
  timeout: 120_000,
}, async (t: TestContext) => {
  const homes = await templates.homes(t);
  await pairAll(homes);
  const [a, b] = await startTestnet(t, homes, { trashGraceSeconds: 7 * 86400, web: { address: '' } });
  await trashOn(b!, a!, 4000);
  await trashOn(a!, b!, 3000);
  await trashOn(a!, b!, 2000);

  const api = WebClient.of(a!.daemon);
  await api.setup(a!.daemon);
  const cluster = (await api.get('/api/cluster')).json as {
    self: { trash: Record<string, unknown> };
    nodes: Array<{ nodeUuid: string; trash: unknown }>;
  };
  t.assert.deepStrictEqual(
    [cluster.self.trash['chunks'], cluster.self.trash['bytes'], cluster.self.trash['graceSeconds']],
    [1, 4000, 7 * 86400],
  );
  t.assert.deepStrictEqual(cluster.nodes.find((n) => n.nodeUuid === b!.uuid)?.trash, {
    chunks: 2,
    bytes: 5000,
  });

  const browser = await openBrowser(t);
  browser.setDefaultTimeout(30_000);
  const page = await browser.newPage();
  const errors = watchErrors(page);
  await page.goto(a!.daemon.web!.url());
  await page.locator(sel('login-password')).fill(PASSWORD);
  await page.locator(sel('login-submit')).click();
  await page.locator(sel('nav-cluster')).click();
  const self = page.locator(sel('self-trash'));
  await until('this computer’s trash on the page', async () =>
    /^\d[\d.]* \S+ in 1 deleted piece$/.test(await text(self)),
  );
  t.assert.match(await text(page.locator('dd', { has: self })), /kept 7 days/);
  const row = page.locator(`${sel('cluster-node')}[data-uuid="${b!.uuid}"]`);
  await until('the trusted computer’s trash on the page', async () =>
    /trash: \d[\d.]* \S+ in 2 deleted pieces/.test(await text(row)),
  );
  await screenshot(page, '6d-cluster-trash');
  t.assert.deepStrictEqual(
    errors.filter((e) => !e.includes('Failed to load resource')),
    [],
  );
});
