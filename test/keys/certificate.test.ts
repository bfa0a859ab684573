import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { mkdir, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { connect, createServer, type PeerCertificate, type TLSSocket } from 'node:tls';
import { isArozError } from '../../src/errors.ts';
import { makeNodeCertificate, nodeUuidOfCertificate, spkiOfCertificate } from '../../src/keys/certificate.ts';
import { TrustStore } from '../../src/keys/trust-store.ts';
import { checkPeer } from '../../src/transport/peer-identity.ts';
import { newUuid } from '../../src/uuid.ts';
import { teardown, tmpDir } from '../helpers/context.ts';
import { testKeyPair } from '../helpers/keys.ts';

test('the node certificate carries the UUID as CN and SAN URI, and the key of the pair', async (t: TestContext) => {
  const pair = await testKeyPair();
  const uuid = newUuid();
  const { certPem, keyPem } = await makeNodeCertificate(uuid, pair);
  const x509 = new X509Certificate(certPem);
  t.assert.strictEqual(x509.subject, `CN=${uuid}`);
  t.assert.strictEqual(x509.issuer, `CN=${uuid}`);
  t.assert.strictEqual(x509.subjectAltName, `URI:urn:uuid:${uuid}`);
  t.assert.strictEqual(x509.verify(pair.publicKey), true);
  t.assert.strictEqual(x509.checkPrivateKey(pair.privateKey), true);
  t.assert.strictEqual(x509.ca, false);
  t.assert.strictEqual(x509.checkIssued(x509), true);
  t.assert.deepStrictEqual(spkiOfCertificate(x509.raw), pair.spkiDer);
  t.assert.strictEqual(nodeUuidOfCertificate(certPem), uuid);
  t.assert.match(keyPem, /^-----BEGIN PRIVATE KEY-----/);
});

test('openssl reads the certificate: SHA-256 signature, both TLS usages, verifies against itself', async (t: TestContext) => {
  const dir = await tmpDir(t);
  const file = join(dir, 'cert.pem');
  await writeFile(file, (await makeNodeCertificate(newUuid(), await testKeyPair())).certPem);
  const text = execFileSync('openssl', ['x509', '-in', file, '-noout', '-text'], { encoding: 'utf8' });
  t.assert.match(text, /Signature Algorithm: sha256WithRSAEncryption/);
  t.assert.match(text, /TLS Web Server Authentication, TLS Web Client Authentication/);
  t.assert.match(execFileSync('openssl', ['verify', '-CAfile', file, file], { encoding: 'utf8' }), /OK/);
});

test('node:tls accepts the certificates as server and client in a TLS 1.3 handshake', async (t: TestContext) => {
  const serverUuid = newUuid();
  const clientUuid = newUuid();
  const server = await makeNodeCertificate(serverUuid, await testKeyPair(0));
  const client = await makeNodeCertificate(clientUuid, await testKeyPair(1));
  const tlsServer = createServer({
    cert: server.certPem,
    key: server.keyPem,
    requestCert: true,
    rejectUnauthorized: false,
    minVersion: 'TLSv1.3',
  });
  teardown(t).defer(() => new Promise<void>((resolve) => tlsServer.close(() => resolve())));
  const seenByServer = once(tlsServer, 'secureConnection') as Promise<[TLSSocket]>;
  tlsServer.listen(0, '127.0.0.1');
  await once(tlsServer, 'listening');
  const socket = connect({
    host: '127.0.0.1',
    port: (tlsServer.address() as AddressInfo).port,
    cert: client.certPem,
    key: client.keyPem,
    rejectUnauthorized: false,
    minVersion: 'TLSv1.3',
  });
  teardown(t).defer(() => void socket.destroy());
  await once(socket, 'secureConnect');
  const [serverSide] = await seenByServer;
  teardown(t).defer(() => void serverSide.destroy());
  t.assert.strictEqual(socket.getProtocol(), 'TLSv1.3');
  const check = (cert: PeerCertificate, uuid: string) => {
    t.assert.strictEqual(cert.subject.CN, uuid);
    t.assert.strictEqual(cert.subjectaltname, `URI:urn:uuid:${uuid}`);
  };
  check(socket.getPeerCertificate(), serverUuid);
  check(serverSide.getPeerCertificate(), clientUuid);
  t.assert.deepStrictEqual(
    spkiOfCertificate(serverSide.getPeerCertificate().raw),
    (await testKeyPair(1)).spkiDer,
  );
  t.assert.deepStrictEqual(
    spkiOfCertificate(socket.getPeerX509Certificate()!),
    (await testKeyPair(0)).spkiDer,
  );
});

test('spkiOfCertificate and nodeUuidOfCertificate refuse what is not a certificate', (t: TestContext) => {
  t.assert.throws(
    () => spkiOfCertificate(Buffer.from('nope')),
    (err) => isArozError(err, 'ERR_KEY_INVALID'),
  );
  t.assert.throws(
    () => nodeUuidOfCertificate('nope'),
    (err) => isArozError(err, 'ERR_KEY_INVALID'),
  );
});

test('the transport pin check accepts the certificate when the trust store pins its key', async (t: TestContext) => {
  const serverUuid = newUuid();
  const clientUuid = newUuid();
  const serverPair = await testKeyPair(0);
  const clientPair = await testKeyPair(1);
  const root = await tmpDir(t);
  const remote = join(root, 'remote');
  await mkdir(remote, { mode: 0o700 });
  const trust = await new TrustStore(remote, {
    root,
    selfUuid: serverUuid,
    selfKeys: [serverPair.spkiDer],
  }).load();
  await trust.add(clientUuid, clientPair, 'client');
  const server = await makeNodeCertificate(serverUuid, serverPair);
  const client = await makeNodeCertificate(clientUuid, clientPair);
  const tlsServer = createServer({
    cert: server.certPem,
    key: server.keyPem,
    requestCert: true,
    rejectUnauthorized: false,
    ALPNProtocols: ['h2'],
  });
  teardown(t).defer(() => new Promise<void>((resolve) => tlsServer.close(() => resolve())));
  const seenByServer = once(tlsServer, 'secureConnection') as Promise<[TLSSocket]>;
  tlsServer.listen(0, '127.0.0.1');
  await once(tlsServer, 'listening');
  const socket = connect({
    host: '127.0.0.1',
    port: (tlsServer.address() as AddressInfo).port,
    cert: client.certPem,
    key: client.keyPem,
    rejectUnauthorized: false,
    ALPNProtocols: ['h2'],
  });
  teardown(t).defer(() => void socket.destroy());
  await once(socket, 'secureConnect');
  const [serverSide] = await seenByServer;
  teardown(t).defer(() => void serverSide.destroy());
  t.assert.deepStrictEqual(checkPeer(serverSide, trust), {
    ok: true,
    uuid: clientUuid,
    spki: clientPair.spkiDer,
  });
  await trust.remove(clientUuid);
  t.assert.strictEqual(checkPeer(serverSide, trust).ok, false);
});
