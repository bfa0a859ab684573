/**
 * The HTTPS web UI has its own ECDSA P-256 key and self-signed certificate (ADDC/web-tls.pem, 0600),
 * never the node's identity key; it keeps them across restarts and key switches; and it speaks only
 * TLS 1.3, or TLS 1.2 with ECDHE and AEAD (checked with the real `openssl s_client`).
 */
import { createPrivateKey, createPublicKey, type KeyObject, X509Certificate } from 'node:crypto';
import { chmod, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { connect } from 'node:tls';
import { isArozError } from '../../src/errors.ts';
import { makeWebCertificate } from '../../src/keys/certificate.ts';
import { Daemon } from '../../src/node/daemon.ts';
import { openWebTls, WEB_TLS_FILE } from '../../src/web/tls.ts';
import { runProcess } from '../helpers/cli.ts';
import { teardown } from '../helpers/context.ts';
import { homeTemplate } from '../helpers/homes.ts';

const template = homeTemplate();

const openssl = await runProcess('openssl', ['version']).catch(() => undefined);
const NO_OPENSSL: string | false =
  openssl?.code === 0 || process.env['CI'] === 'true'
    ? false
    : 'no openssl command found (apt-get install openssl)';

async function startNode(t: TestContext, home: string, log?: (line: string) => void): Promise<Daemon> {
  const daemon = await Daemon.start({
    home,
    listen: '127.0.0.2:0',
    discovery: false,
    web: { address: '127.0.0.2:0', tls: true },
    ...(log !== undefined ? { log } : {}),
  });
  teardown(t).defer(() => daemon.close(1_000));
  return daemon;
}

/** The certificate the web UI presents. */
function presented(daemon: Daemon): Promise<X509Certificate> {
  return new Promise((resolve, reject) => {
    const socket = connect(
      { host: '127.0.0.2', port: daemon.web!.address().port, rejectUnauthorized: false },
      () => {
        const cert = socket.getPeerX509Certificate();
        socket.destroy();
        if (cert === undefined) reject(new Error('no certificate presented'));
        else resolve(cert);
      },
    );
    socket.on('error', reject);
  });
}

/** SPKI DER of a public key object, or of the public half of a private key PEM. */
function spki(key: KeyObject | string): Buffer {
  return (typeof key === 'string' ? createPublicKey(key) : key).export({ type: 'spki', format: 'der' });
}

test('the web certificate has its own ECDSA P-256 key, kept 0600 in ADDC/web-tls.pem', async (t: TestContext) => {
  const home = await template.copy(t);
  const daemon = await startNode(t, home);
  const cert = await presented(daemon);
  t.assert.strictEqual(cert.fingerprint256, daemon.web!.certificateFingerprint);
  t.assert.strictEqual(cert.publicKey.asymmetricKeyType, 'ec');
  t.assert.strictEqual(cert.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
  const identity = await daemon.home.activeKeyPair();
  t.assert.notDeepStrictEqual(spki(cert.publicKey), identity.spkiDer, 'not the node identity key');
  t.assert.match(cert.subject, new RegExp(`CN=arozdfs web UI ${daemon.nodeUuid}`));
  const file = join(home, 'ADDC', WEB_TLS_FILE);
  t.assert.strictEqual((await stat(file)).mode & 0o777, 0o600);
  const text = await readFile(file, 'utf8');
  t.assert.ok(text.includes(cert.toString().trim()), 'the file holds the presented certificate');
  t.assert.ok(cert.checkPrivateKey(createPrivateKey(text)), 'and its key');
});

test('the web certificate stays the same across a key switch and a restart', async (t: TestContext) => {
  const home = await template.copy(t);
  const first = await startNode(t, home);
  const before = (await presented(first)).fingerprint256;
  const pair = await first.home.generateKey(3072, 'cli');
  await first.activateKey(pair.keyUuid, 'cli');
  t.assert.strictEqual((await presented(first)).fingerprint256, before, 'unchanged by keys activate');
  await first.close();
  const second = await startNode(t, home);
  t.assert.strictEqual((await presented(second)).fingerprint256, before, 'unchanged by a restart');
  t.assert.strictEqual(second.web!.certificateFingerprint, before);
});

test('a running web UI serves a renewed certificate once its own nears its end, and keeps it on a damaged file', async (t: TestContext) => {
  const home = await template.copy(t);
  const logged: string[] = [];
  const daemon = await startNode(t, home, (line) => logged.push(line));
  const web = daemon.web!;
  const first = await presented(daemon);
  t.assert.strictEqual(await web.refreshTls(), false, 'a certificate far from its end is kept');
  t.assert.strictEqual((await presented(daemon)).fingerprint256, first.fingerprint256);

  // The file now holds a certificate that ends in 25 days (as if the node had run for 800 days).
  const addc = join(home, 'ADDC');
  const file = join(addc, WEB_TLS_FILE);
  await rm(file);
  const ageing = await openWebTls(addc, daemon.nodeUuid, {
    host: '127.0.0.2',
    now: new Date(Date.now() - 800 * 24 * 60 * 60 * 1000),
  });
  t.assert.strictEqual(await web.refreshTls(), true, 'renewed');
  const renewed = await presented(daemon);
  t.assert.notStrictEqual(renewed.fingerprint256, first.fingerprint256);
  t.assert.notStrictEqual(renewed.fingerprint256, new X509Certificate(ageing.certPem).fingerprint256);
  t.assert.ok(renewed.validToDate > new Date(Date.now() + 800 * 24 * 60 * 60 * 1000), renewed.validTo);
  t.assert.strictEqual(web.certificateFingerprint, renewed.fingerprint256);
  t.assert.ok((await readFile(file, 'utf8')).includes(renewed.toString().trim()), 'kept in the file');
  t.assert.ok(
    logged.some(
      (l) => l.startsWith('web UI: its certificate neared its end') && l.endsWith(renewed.fingerprint256),
    ),
    `the node's log names the new fingerprint: ${logged.join(' | ')}`,
  );

  await writeFile(file, 'not a certificate', { mode: 0o600 });
  t.assert.strictEqual(await web.refreshTls(), false, 'a damaged file changes nothing');
  t.assert.match(
    logged.at(-1) ?? '',
    /^web UI: could not check its certificate for renewal \(.*web-tls\.pem.*\); it keeps/,
  );
  t.assert.strictEqual((await presented(daemon)).fingerprint256, renewed.fingerprint256);
});

test('openWebTls() renews a certificate that ends within 30 days and refuses a damaged file', async (t: TestContext) => {
  const home = await template.copy(t);
  const addc = join(home, 'ADDC');
  const uuid = '7cce4b05-34a5-401e-920a-98d20e7a0f37';
  const old = await openWebTls(addc, uuid, { now: new Date('2024-01-01T00:00:00Z') });
  const again = await openWebTls(addc, uuid, { now: new Date('2025-06-01T00:00:00Z') });
  t.assert.deepStrictEqual(again, old, 'kept while valid for more than 30 days');
  const renewed = await openWebTls(addc, uuid, { now: new Date('2026-03-10T00:00:00Z') });
  t.assert.notDeepStrictEqual(spki(renewed.keyPem), spki(old.keyPem));
  t.assert.ok(new X509Certificate(renewed.certPem).validToDate > new Date('2028-01-01T00:00:00Z'));

  const file = join(addc, WEB_TLS_FILE);
  await chmod(file, 0o640);
  await t.assert.rejects(openWebTls(addc, uuid), (err) => isArozError(err, 'ERR_INSECURE_PATH'));
  await writeFile(file, renewed.certPem, { mode: 0o600 });
  await chmod(file, 0o600);
  await t.assert.rejects(openWebTls(addc, uuid), (err) => isArozError(err, 'ERR_HOME_INVALID'));
  // The node's identity key (RSA) beside the certificate: refused, not used.
  const rsaKey = (await readdir(join(addc, 'keypairs'))).find((name) => name.endsWith('_rsa'));
  await writeFile(file, (await readFile(join(addc, 'keypairs', rsaKey ?? ''), 'utf8')) + renewed.certPem);
  await t.assert.rejects(openWebTls(addc, uuid), (err) => isArozError(err, 'ERR_HOME_INVALID'));
});

test('openssl s_client: TLS 1.3 and TLS 1.2 ECDHE-ECDSA-AES128-GCM connect; static RSA and CBC suites do not', {
  skip: NO_OPENSSL,
}, async (t: TestContext) => {
  const home = await template.copy(t);
  const daemon = await startNode(t, home);
  const target = `127.0.0.2:${daemon.web!.address().port}`;
  const client = (...args: string[]) =>
    runProcess('openssl', ['s_client', '-connect', target, ...args], { timeoutMs: 30_000 });
  const cases: Array<{ args: string[]; connects: boolean }> = [
    { args: ['-tls1_3'], connects: true },
    { args: ['-tls1_2', '-cipher', 'ECDHE-ECDSA-AES128-GCM-SHA256'], connects: true },
    { args: ['-tls1_2', '-cipher', 'AES128-GCM-SHA256'], connects: false },
    { args: ['-tls1_2', '-cipher', 'AES256-SHA'], connects: false },
    { args: ['-tls1_2', '-cipher', 'ECDHE-ECDSA-AES128-SHA'], connects: false },
    { args: ['-tls1_2', '-cipher', 'ECDHE-RSA-AES128-GCM-SHA256'], connects: false },
    { args: ['-tls1_1'], connects: false },
  ];
  for (const { args, connects } of cases) {
    const run = await client(...args);
    const shown = `openssl s_client ${args.join(' ')}: exit ${run.code}\n${run.stderr.slice(0, 400)}`;
    t.assert.strictEqual(run.code === 0, connects, shown);
    if (connects) t.assert.match(run.stdout, /Cipher is (TLS_AES|ECDHE-ECDSA-AES128-GCM)/, shown);
  }
});

test('the web certificate names localhost and the listen address, so a client given it verifies it', async (t: TestContext) => {
  const home = await template.copy(t);
  const daemon = await startNode(t, home);
  const cert = await presented(daemon);
  const san = cert.subjectAltName ?? '';
  for (const name of ['DNS:localhost', 'IP Address:127.0.0.1', 'IP Address:127.0.0.2']) {
    t.assert.ok(san.split(', ').includes(name), `${name} in "${san}"`);
  }
  // A scraper given the certificate (no "insecure" switch) verifies the chain and the address.
  const verified = await new Promise<boolean>((resolve, reject) => {
    const socket = connect(
      { host: '127.0.0.2', port: daemon.web!.address().port, ca: cert.toString() },
      () => {
        resolve(socket.authorized);
        socket.destroy();
      },
    );
    socket.on('error', reject);
  });
  t.assert.strictEqual(verified, true);
  const text = await runProcess('openssl', ['x509', '-noout', '-ext', 'subjectAltName'], {
    input: cert.toString(),
    timeoutMs: 10_000,
  }).catch(() => undefined);
  if (text !== undefined && text.code === 0) t.assert.match(text.stdout, /IP Address:127\.0\.0\.2/);
});

test('openWebTls() makes again, for the same key, a certificate that lacks the names it serves', async (t: TestContext) => {
  const home = await template.copy(t);
  const addc = join(home, 'ADDC');
  const uuid = '7cce4b05-34a5-401e-920a-98d20e7a0f37';
  const first = await openWebTls(addc, uuid, { host: '127.0.0.1' });
  // An older version's certificate: no subjectAltName.
  const key = createPrivateKey(first.keyPem);
  const bare = makeWebCertificate(uuid, key, { days: 825 });
  t.assert.strictEqual(new X509Certificate(bare).subjectAltName, undefined);
  await writeFile(join(addc, WEB_TLS_FILE), first.keyPem + bare, { mode: 0o600 });
  const again = await openWebTls(addc, uuid, { host: '127.0.0.3' });
  t.assert.deepStrictEqual(spki(again.keyPem), spki(first.keyPem), 'the key is kept');
  t.assert.match(new X509Certificate(again.certPem).subjectAltName ?? '', /IP Address:127\.0\.0\.3/);
  t.assert.deepStrictEqual(await openWebTls(addc, uuid, { host: '127.0.0.3' }), again, 'then kept');
  const wildcard = new X509Certificate((await openWebTls(addc, uuid, { host: '0.0.0.0' })).certPem);
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) {
      if (a.family === 'IPv4') t.assert.ok(wildcard.subjectAltName?.includes(`IP Address:${a.address}`));
    }
  }
});
