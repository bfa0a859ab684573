import { execFileSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { isArozError } from '../../src/errors.ts';
import { decodeIndex, encodeIndex, type IndexFile, signingPayload } from '../../src/index-file/index.ts';
import { signerKeys, signIndex, verifyIndex } from '../../src/keys/index-signature.ts';
import { publicKeyPem } from '../../src/keys/rsa.ts';
import { newUuid } from '../../src/uuid.ts';
import { tmpDir } from '../helpers/context.ts';
import { testKeyPair } from '../helpers/keys.ts';

const SELF = newUuid();
const PEER = newUuid();
const untrusted = (err: unknown) => isArozError(err, 'ERR_INDEX_UNTRUSTED');

function sampleIndex(createdBy: string): IndexFile {
  return {
    format: 'arozdfs-index',
    version: 1,
    id: newUuid(),
    file: { name: 'movie.mkv', size: 5000, sha256: 'a'.repeat(64) },
    chunkSize: 4096,
    redundancy: { scheme: 'replicas', copies: 2 },
    chunks: [0, 1].map((i) => ({
      i,
      offset: i * 4096,
      size: i === 0 ? 4096 : 904,
      sha256: String(i).repeat(64),
      uuid: newUuid(),
      holders: [{ node: SELF }, { node: PEER }],
    })),
    cluster: [SELF, PEER],
    shift: 1,
    createdAt: '2026-11-26T10:15:30.123Z',
    createdBy,
    note: 'unknown fields are signed too',
  };
}

async function keys() {
  const active = await testKeyPair(0);
  const retired = await testKeyPair(1);
  const peer = await testKeyPair(2);
  const trusted = signerKeys({ nodeUuid: SELF, keys: [active, retired] }, [{ ...peer, nodeUuid: PEER }]);
  return { active, retired, peer, trusted };
}

test('a signed index survives encode and decode and verifies with the signer named', async (t: TestContext) => {
  const { active, trusted } = await keys();
  const signed = signIndex(sampleIndex(SELF), active);
  t.assert.deepStrictEqual(
    { alg: signed.signature?.alg, key: signed.signature?.key },
    { alg: 'RSA-PSS-SHA256', key: active.fingerprint },
  );
  const decoded = decodeIndex(encodeIndex(signed));
  t.assert.strictEqual(verifyIndex(decoded, trusted).owner, SELF);
});

test('indexes signed with a retired own key or a pinned peer key verify', async (t: TestContext) => {
  const { retired, peer, trusted } = await keys();
  t.assert.strictEqual(
    verifyIndex(signIndex(sampleIndex(SELF), retired), trusted).fingerprint,
    retired.fingerprint,
  );
  t.assert.strictEqual(verifyIndex(signIndex(sampleIndex(PEER), peer), trusted).owner, PEER);
});

test('the signature is RSA-PSS, SHA-256, salt 32, as openssl checks it', async (t: TestContext) => {
  const dir = await tmpDir(t);
  const { active } = await keys();
  const signed = signIndex(sampleIndex(SELF), active);
  const files = { pub: join(dir, 'k.pub'), sig: join(dir, 'sig'), data: join(dir, 'data') };
  await writeFile(files.pub, publicKeyPem(active));
  await writeFile(files.sig, Buffer.from(signed.signature?.value ?? '', 'base64'));
  await writeFile(files.data, signingPayload(signed));
  const out = execFileSync(
    'openssl',
    [
      'dgst',
      '-sha256',
      '-sigopt',
      'rsa_padding_mode:pss',
      '-sigopt',
      'rsa_pss_saltlen:32',
      '-verify',
      files.pub,
      '-signature',
      files.sig,
      files.data,
    ],
    { encoding: 'utf8' },
  );
  t.assert.match(out, /Verified OK/);
});

test('verifyIndex refuses unsigned, tampered, unknown-signer and mislabelled indexes', async (t: TestContext) => {
  const { active, peer, trusted } = await keys();
  const stranger = await testKeyPair(3);
  const signed = signIndex(sampleIndex(SELF), active);
  const sig = signed.signature!;
  const cases: Record<string, IndexFile> = {
    unsigned: sampleIndex(SELF),
    'a changed file name': { ...signed, file: { ...signed.file, name: 'other.mkv' } },
    'a changed unknown field': { ...signed, note: 'changed' },
    'a changed holder': {
      ...signed,
      chunks: signed.chunks.map((c) => ({ ...c, holders: [{ node: PEER }] })),
    },
    'an unknown signer': signIndex(sampleIndex(SELF), stranger),
    'a signature claiming another trusted key': { ...signed, signature: { ...sig, key: peer.fingerprint } },
    'another algorithm': { ...signed, signature: { ...sig, alg: 'RSA-PKCS1-SHA256' as 'RSA-PSS-SHA256' } },
    // A different first character (the signature starts with 'A' once in 64 runs).
    'a damaged value': {
      ...signed,
      signature: { ...sig, value: `${sig.value.startsWith('A') ? 'B' : 'A'}${sig.value.slice(1)}` },
    },
    'a value that is not base64': { ...signed, signature: { ...sig, value: '!!!!' } },
    'createdBy another node than the signer': signIndex(sampleIndex(PEER), active),
  };
  for (const [name, index] of Object.entries(cases)) {
    t.assert.throws(() => verifyIndex(index, trusted), untrusted, name);
  }
});
