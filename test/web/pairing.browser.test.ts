/**
 * Pairing as people do it in real headless Chromium, on nodes that cannot find each other (no
 * discovery, no `--peer`): right after trusting, the page waits for the other computer instead of
 * showing a raw error; a peer's address given on the page (kept in node.json, dialled at once); the
 * other node then shows a pairing hint ("… has paired with this computer"), and pairing back from it
 * ends with "paired both ways" on both. The address API's error codes. Screenshots at both widths.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import type { Locator, Page } from 'playwright-core';
import { NodeHome } from '../../src/home/open.ts';
import { formatPairing } from '../../src/keys/pairing.ts';
import { NO_BROWSER, openBrowser, screenshot, watchErrors } from '../helpers/browser.ts';
import { startTestnet, type TestNode, testnetTemplates } from '../helpers/testnet.ts';
import { until } from '../helpers/until.ts';
import { PASSWORD, WebClient } from '../helpers/web.ts';

const templates = testnetTemplates(3);
const TIMEOUT = 30_000;
const sel = (name: string) => `[data-test="${name}"]`;
const text = async (locator: Locator) => (await locator.textContent()) ?? '';
const waitFor = (what: string, check: () => Promise<boolean>) =>
  until(what, check, { timeoutMs: TIMEOUT, intervalMs: 100 });

async function setUp(page: Page, node: TestNode): Promise<void> {
  await page.goto(node.daemon.web!.url());
  await page.locator(sel('setup-token')).fill(node.daemon.web!.auth.setupToken!);
  await page.locator(sel('setup-password')).fill(PASSWORD);
  await page.locator(sel('setup-repeat')).fill(PASSWORD);
  await page.locator(sel('setup-submit')).click();
  await page.locator(sel('own-pairing')).waitFor();
}

/** Pastes `pairing` on `page`'s Host setup and trusts it with the password. */
async function trust(page: Page, pairing: string): Promise<void> {
  await page.locator(sel('paste-pairing')).fill(pairing);
  await page.locator(sel('check-pairing')).click();
  await page.locator(sel('trust-peer')).click();
  await page.locator(sel('reauth-password')).fill(PASSWORD);
  await page.locator(sel('reauth-ok')).click();
}

const peerRow = (page: Page, uuid: string) => page.locator(`${sel('peer-row')}[data-uuid="${uuid}"]`);
const pairingOf = async (page: Page, uuid: string) =>
  (await peerRow(page, uuid).locator(sel('peer-status')).getAttribute('data-pairing')) ?? '';

/** Sets a peer's address on the page; resolves when the page says it was saved (or shows an error). */
async function giveAddress(page: Page, uuid: string, address: string): Promise<void> {
  const row = peerRow(page, uuid);
  const details = row.locator('details.address');
  if ((await details.getAttribute('open')) === null) await details.locator('summary').click();
  await row.locator(sel('peer-address-input')).fill(address);
  await row.locator(sel('peer-address-save')).click();
}

test('a node that paired with this one shows as a hint; after trusting, the page waits; a peer address given on the page', {
  skip: NO_BROWSER,
  timeout: 120_000,
}, async (t: TestContext) => {
  const homes = (await templates.homes(t)).slice(0, 2);
  // Started apart: neither knows where the other is (no discovery, no static address).
  const [a] = await startTestnet(t, [homes[0]!], { web: { address: '' }, heartbeatMs: 300 });
  const [b] = await startTestnet(t, [homes[1]!], { web: { address: '' }, heartbeatMs: 300 });
  const browser = await openBrowser(t);
  browser.setDefaultTimeout(TIMEOUT);
  const pageA = await browser.newPage();
  const pageB = await browser.newPage();
  const errors = [...[pageA, pageB].map(watchErrors)];
  await setUp(pageA, a!);
  await setUp(pageB, b!);
  const pairingA = await text(pageA.locator(sel('own-pairing')));
  const pairingB = await text(pageB.locator(sel('own-pairing')));

  // B trusts A; A cannot be reached: the row waits for it, with no raw error on the page.
  await trust(pageB, pairingA);
  await peerRow(pageB, a!.uuid).waitFor();
  await waitFor('B waits for A', async () => (await pairingOf(pageB, a!.uuid)) === 'waiting');
  t.assert.match(await text(peerRow(pageB, a!.uuid)), /Waiting for the other computer/);
  t.assert.doesNotMatch(await text(pageB.locator('main')), /ERR_[A-Z_]+/);
  await screenshot(pageB, '10-host-waiting');

  // A wrong address: the page says what is wrong and keeps nothing.
  await giveAddress(pageB, a!.uuid, 'not an address');
  await pageB.locator(sel('error')).waitFor();
  t.assert.match(await text(pageB.locator(sel('error'))), /host:port/);
  await screenshot(pageB, '10b-host-address-wrong');
  // A's cluster address: kept in node.json and dialled at once.
  const addressA = `${a!.host}:${a!.daemon.server.address().port}`;
  await giveAddress(pageB, a!.uuid, addressA);
  await peerRow(pageB, a!.uuid).getByText(`Saved: ${addressA}`).waitFor();
  const config = JSON.parse(await readFile(join(b!.home, 'ADDC', 'node.json'), 'utf8'));
  t.assert.deepStrictEqual(config.peerAddresses, { [a!.uuid]: addressA });
  t.assert.deepStrictEqual(b!.daemon.staticPeers.get(a!.uuid), {
    host: a!.host,
    port: a!.daemon.server.address().port,
  });

  // B dials A with a key A does not trust: A's Host setup shows the hint, pushed as it happens.
  const hint = pageA.locator(`${sel('pairing-hint')}[data-uuid="${b!.uuid}"]`);
  await hint.waitFor();
  const fingerprintB = (await b!.daemon.home.activeKeyPair()).fingerprint;
  t.assert.match(
    await text(hint),
    /has paired with this computer\. To pair back, paste its pairing string here\./,
  );
  t.assert.ok((await text(hint)).includes(fingerprintB), 'the hint shows the full fingerprint');
  t.assert.strictEqual(a!.daemon.trust.get(b!.uuid), undefined, 'a hint trusts nothing');
  await screenshot(pageA, '11-host-pairing-hint');
  await waitFor('B says one way so far', async () => (await pairingOf(pageB, a!.uuid)) === 'one-way');

  // Pairing back from the hint: its button leads to the paste box.
  await hint.locator(sel('hint-paste')).click();
  t.assert.ok(await pageA.locator(sel('paste-pairing')).evaluate((el) => el === document.activeElement));
  await trust(pageA, pairingB);
  await hint.waitFor({ state: 'detached' });
  await giveAddress(pageA, b!.uuid, `${b!.host}:${b!.daemon.server.address().port}`);
  await waitFor('A: both ways', async () => (await pairingOf(pageA, b!.uuid)) === 'both');
  await waitFor('B: both ways', async () => (await pairingOf(pageB, a!.uuid)) === 'both');
  await screenshot(pageA, '12-host-paired-both-ways');
  for (const list of errors)
    t.assert.deepStrictEqual(
      list.filter((e) => !e.includes('Failed to load')),
      [],
    );
});

test('the peer address API: codes for a bad address, UUID or untrusted node; CSRF needed; removal', async (t: TestContext) => {
  const homes = (await templates.homes(t)).slice(0, 2);
  const [a] = await startTestnet(t, [homes[0]!], { web: { address: '' } });
  const web = WebClient.of(a!.daemon);
  await web.setup(a!.daemon);
  const b = JSON.parse(await readFile(join(homes[1]!, 'ADDC', 'node.json'), 'utf8')) as { nodeUuid: string };
  const put = (uuid: string, address: unknown, options = {}) =>
    web.request('PUT', `/api/peers/${uuid}/address`, { body: { address }, ...options });
  t.assert.strictEqual((await put(b.nodeUuid, '127.0.0.9:7420')).json.error.code, 'ERR_PEER_NOT_FOUND');
  t.assert.strictEqual((await put('not-a-uuid', '127.0.0.9:7420')).json.error.code, 'ERR_INVALID_UUID');
  // Trust B from its pairing string (as the page does), then give its address.
  const pairing = await pairingString(homes[1]!);
  t.assert.strictEqual((await web.post('/api/peers', { pairing, password: PASSWORD })).status, 200);
  for (const bad of ['nonsense', '127.0.0.9', '127.0.0.9:0', '127.0.0.9:70000', '[zz]:1', 42]) {
    const answer = await put(b.nodeUuid, bad);
    t.assert.strictEqual(answer.status, 400, String(bad));
    t.assert.strictEqual(answer.json.error.code, 'ERR_USAGE', String(bad));
  }
  t.assert.strictEqual(
    (await put(b.nodeUuid, '127.0.0.9:7420', { noCsrf: true })).json.error.code,
    'ERR_WEB_FORBIDDEN',
  );
  t.assert.deepStrictEqual((await put(b.nodeUuid, ' 127.0.0.9:7420 ')).json, {
    nodeUuid: b.nodeUuid,
    address: '127.0.0.9:7420',
  });
  t.assert.deepStrictEqual(a!.daemon.staticPeers.get(b.nodeUuid), { host: '127.0.0.9', port: 7420 });
  const peers = (await web.get('/api/peers')).json.peers as Array<{
    nodeUuid: string;
    staticAddress: string;
  }>;
  t.assert.strictEqual(peers.find((p) => p.nodeUuid === b.nodeUuid)?.staticAddress, '127.0.0.9:7420');
  t.assert.deepStrictEqual((await put(b.nodeUuid, null)).json, { nodeUuid: b.nodeUuid, address: null });
  t.assert.strictEqual(a!.daemon.staticPeers.get(b.nodeUuid), undefined);
  const config = JSON.parse(await readFile(join(a!.home, 'ADDC', 'node.json'), 'utf8'));
  t.assert.deepStrictEqual(config.peerAddresses, {});
  const audit = await readFile(join(a!.home, 'ADDC', 'audit.log'), 'utf8');
  t.assert.strictEqual(audit.split('\n').filter((l) => l.includes('"peer-address"')).length, 2);
});

/** A home's pairing string, as its Host setup page shows it. */
async function pairingString(home: string): Promise<string> {
  const opened = await NodeHome.open(home);
  return formatPairing(opened.config.nodeUuid, await opened.activeKeyPair(), opened.config.name);
}
