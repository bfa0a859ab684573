/**
 * A client no one here wrote: curl over HTTP/2 with a certificate that openssl makes from a trusted
 * node's private key (docs/protocol.md, "Identity on the wire") can call the node API, pinning the node's key with
 * `--pinnedpubkey`; the same call with an untrusted key is refused before any handler runs, and a
 * curl that pins another key refuses the node.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { promisify } from 'node:util';
import { privateKeyPem } from '../../src/keys/rsa.ts';
import { newUuid } from '../../src/uuid.ts';
import { tmpDir } from '../helpers/context.ts';
import { testKeyPair } from '../helpers/keys.ts';
import { testBytes } from '../helpers/random.ts';
import { put } from '../store/helpers.ts';
import { type ApiNode, member, remoteStore, startNodes } from './api-testnet.ts';

const run = promisify(execFile);

async function curlHasHttp2(): Promise<boolean> {
  try {
    return / HTTP2( |$)/m.test((await run('curl', ['--version'])).stdout);
  } catch {
    return false;
  }
}

const skip = (await curlHasHttp2())
  ? false
  : 'curl with HTTP/2 support is not installed (apt-get install curl)';

/** A certificate and key file for curl, made by openssl from `keyPem`, naming node `uuid`. */
async function curlIdentity(t: TestContext, uuid: string, keyPem: string) {
  const dir = await tmpDir(t, 'arozdfs-curl-');
  const key = join(dir, 'key.pem');
  const cert = join(dir, 'cert.pem');
  await writeFile(key, keyPem, { mode: 0o600 });
  await run('openssl', [
    'req',
    '-x509',
    '-key',
    key,
    '-out',
    cert,
    '-days',
    '2',
    '-subj',
    `/CN=${uuid}`,
    '-addext',
    `subjectAltName=URI:urn:uuid:${uuid}`,
  ]);
  return { key, cert };
}

/** `sha256//<base64 of SHA-256 of the SPKI DER>`, curl's pin of a public key. */
function pinOf(spkiDer: Buffer): string {
  return `sha256//${createHash('sha256').update(spkiDer).digest('base64')}`;
}

async function curl(
  node: ApiNode,
  id: { key: string; cert: string },
  pin: string,
  path: string,
  extra: string[] = [],
) {
  const url = `https://${node.host}:${node.port}${path}`;
  const args = ['--silent', '--show-error', '--http2', '--max-time', '20', '-k', '--pinnedpubkey', pin];
  try {
    const { stdout } = await run('curl', [...args, '--cert', id.cert, '--key', id.key, ...extra, url], {
      encoding: 'buffer',
    });
    return { code: 0, stdout };
  } catch (err) {
    return { code: (err as { code?: number }).code ?? -1, stdout: Buffer.alloc(0) };
  }
}

test('curl with a trusted node key reads GET /v1/node and a byte range of a chunk', {
  skip,
}, async (t: TestContext) => {
  const members = await Promise.all([member(0), member(1)]);
  const [client, server] = members;
  const [node] = await startNodes(t, members, {}, [1]);
  if (client === undefined || server === undefined || node === undefined) throw new Error('two members');
  const id = await curlIdentity(t, client.uuid, privateKeyPem(client.keyPair));
  const pin = pinOf(server.keyPair.spkiDer);
  const info = await curl(node, id, pin, '/v1/node');
  t.assert.strictEqual(info.code, 0);
  const body = JSON.parse(info.stdout.toString('utf8'));
  t.assert.deepStrictEqual([body.uuid, body.name, body.stores.length], [server.uuid, server.name, 1]);
  const uuid = newUuid();
  const bytes = testBytes(64 * 1024);
  await put(await remoteStore(t, client, node), uuid, bytes, { meta: { uploader: client.uuid } });
  const ranged = await curl(node, id, pin, `/v1/chunks/${uuid}`, ['--range', '100-199']);
  t.assert.strictEqual(ranged.code, 0);
  t.assert.ok(ranged.stdout.equals(bytes.subarray(100, 200)));
});

test('curl with an untrusted key is refused before any request reaches a handler', {
  skip,
}, async (t: TestContext) => {
  const members = await Promise.all([member(0), member(1)]);
  const [client, server] = members;
  const [node] = await startNodes(t, members, {}, [1]);
  if (client === undefined || server === undefined || node === undefined) throw new Error('two members');
  const stranger = await testKeyPair(3);
  const pin = pinOf(server.keyPair.spkiDer);
  const unknownKey = await curlIdentity(t, newUuid(), privateKeyPem(stranger));
  const wrongKey = await curlIdentity(t, client.uuid, privateKeyPem(stranger)); // a trusted UUID, another key
  for (const id of [unknownKey, wrongKey]) {
    const answer = await curl(node, id, pin, '/v1/node');
    t.assert.notStrictEqual(answer.code, 0);
    t.assert.strictEqual(answer.stdout.length, 0);
  }
  t.assert.strictEqual(node.requests, 0);
  t.assert.strictEqual(node.server.refusals.length, 2);
});

test('curl pinning another key refuses the node (exit 90)', { skip }, async (t: TestContext) => {
  const members = await Promise.all([member(0), member(1)]);
  const [client] = members;
  const [node] = await startNodes(t, members, {}, [1]);
  if (client === undefined || node === undefined) throw new Error('two members');
  const id = await curlIdentity(t, client.uuid, privateKeyPem(client.keyPair));
  const answer = await curl(node, id, pinOf((await testKeyPair(3)).spkiDer), '/v1/node');
  t.assert.strictEqual(answer.code, 90); // CURLE_SSL_PINNEDPUBKEYNOTMATCH
  t.assert.strictEqual(node.requests, 0);
});
