import { type TestContext, test } from 'node:test';
import { isArozError } from '../../src/errors.ts';
import {
  describePublicKey,
  generateKeyPair,
  keyPairFromPrivatePem,
  privateKeyPem,
  publicKeyFromSpki,
} from '../../src/keys/rsa.ts';
import { ecPublicKey, ed25519PublicKey, oddRsaPublicKey, spkiOf, testKeyPair } from '../helpers/keys.ts';

const code = (c: string) => (err: unknown) => isArozError(err) && err.code === c;

test('describePublicKey accepts RSA of 3072 and of 8192 bits with e = 65537', (t: TestContext) => {
  t.assert.strictEqual(describePublicKey(oddRsaPublicKey(3072), 'k').bits, 3072);
  t.assert.strictEqual(describePublicKey(oddRsaPublicKey(8192), 'k').bits, 8192);
});

for (const [name, make] of [
  ['an EC P-256 key', ecPublicKey],
  ['an Ed25519 key', ed25519PublicKey],
  ['RSA of 2048 bits', () => oddRsaPublicKey(2048)],
  ['RSA of 3071 bits', () => oddRsaPublicKey(3071)],
  ['RSA of 8200 bits', () => oddRsaPublicKey(8200)],
  ['RSA with e = 3', () => oddRsaPublicKey(3072, 3)],
  ['RSA with e = 65539', () => oddRsaPublicKey(3072, 65539)],
] as const) {
  test(`describePublicKey refuses ${name} with ERR_KEY_UNSUPPORTED`, (t: TestContext) => {
    t.assert.throws(() => describePublicKey(make(), 'The key'), code('ERR_KEY_UNSUPPORTED'));
  });
}

test('publicKeyFromSpki refuses garbage and DER with trailing bytes (ERR_KEY_INVALID)', async (t: TestContext) => {
  const pair = await testKeyPair();
  t.assert.throws(() => publicKeyFromSpki(Buffer.from('not a key'), 'k'), code('ERR_KEY_INVALID'));
  t.assert.throws(
    () => publicKeyFromSpki(Buffer.concat([pair.spkiDer, Buffer.from([0])]), 'k'),
    code('ERR_KEY_INVALID'),
  );
  t.assert.strictEqual(publicKeyFromSpki(pair.spkiDer, 'k').fingerprint, pair.fingerprint);
});

test('keyPairFromPrivatePem reads back what privateKeyPem wrote, and refuses an encrypted key', async (t: TestContext) => {
  const pair = await testKeyPair();
  const again = keyPairFromPrivatePem(pair.keyUuid, privateKeyPem(pair), 'k');
  t.assert.strictEqual(again.fingerprint, pair.fingerprint);
  const encrypted = pair.privateKey
    .export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'x' })
    .toString();
  t.assert.throws(() => keyPairFromPrivatePem(pair.keyUuid, encrypted, 'k'), code('ERR_KEY_INVALID'));
});

test('generateKeyPair makes RSA-3072 with e = 65537 and refuses sizes outside 3072..8192', async (t: TestContext) => {
  const pair = await testKeyPair();
  t.assert.strictEqual(pair.bits, 3072);
  t.assert.strictEqual(pair.publicKey.asymmetricKeyDetails?.publicExponent, 65537n);
  t.assert.deepStrictEqual(spkiOf(pair.publicKey), pair.spkiDer);
  await t.assert.rejects(generateKeyPair(2048), code('ERR_KEY_UNSUPPORTED'));
});

test('generateKeyPair stops waiting when its signal is aborted', async (t: TestContext) => {
  const controller = new AbortController();
  const reason = new Error('stop');
  const pending = generateKeyPair(3072, { signal: controller.signal });
  controller.abort(reason);
  await t.assert.rejects(pending, (err) => err === reason);
});
