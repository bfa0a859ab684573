import { execFileSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { fingerprintOf, fingerprintTail, groupFingerprint } from '../../src/keys/fingerprint.ts';
import { publicKeyPem } from '../../src/keys/rsa.ts';
import { tmpDir } from '../helpers/context.ts';
import { oddRsaPublicKey, spkiOf, testKeyPair } from '../helpers/keys.ts';

/** What the real openssl prints for a public key file (docs/pairing.md, "Comparing the fingerprint"), with `SHA256:` in front. */
function opensslFingerprint(pubFile: string): string {
  const pipeline =
    'openssl pkey -pubin -in "$1" -outform DER | openssl dgst -sha256 -binary | base64 | tr -d =';
  return `SHA256:${execFileSync('sh', ['-c', pipeline, 'sh', pubFile], { encoding: 'utf8' }).trim()}`;
}

test('fingerprintOf equals the fingerprint the real openssl prints for the .pub file', async (t: TestContext) => {
  const dir = await tmpDir(t);
  const pair = await testKeyPair();
  const file = join(dir, 'key_rsa.pub');
  await writeFile(file, publicKeyPem(pair));
  t.assert.strictEqual(pair.fingerprint, opensslFingerprint(file));
  t.assert.strictEqual(fingerprintOf(pair.spkiDer), pair.fingerprint);
});

test('fingerprintOf agrees with openssl for an 8192-bit key and is 43 characters of base64', async (t: TestContext) => {
  const dir = await tmpDir(t);
  const der = spkiOf(oddRsaPublicKey(8192));
  const file = join(dir, 'big.pub');
  await writeFile(file, `-----BEGIN PUBLIC KEY-----\n${der.toString('base64')}\n-----END PUBLIC KEY-----\n`);
  const fingerprint = fingerprintOf(der);
  t.assert.strictEqual(fingerprint, opensslFingerprint(file));
  t.assert.match(fingerprint, /^SHA256:[A-Za-z0-9+/]{43}$/);
});

test('groupFingerprint splits into groups of four and keeps every character', (t: TestContext) => {
  const fingerprint = 'SHA256:QhJHghznZXFzaVhItreiRhz3J6JMiwYxlm7YUhMHgEs';
  const grouped = groupFingerprint(fingerprint);
  t.assert.strictEqual(grouped, 'SHA256:QhJH ghzn ZXFz aVhI trei Rhz3 J6JM iwYx lm7Y UhMH gEs');
  t.assert.strictEqual(grouped.replaceAll(' ', ''), fingerprint);
  t.assert.strictEqual(fingerprintTail(fingerprint), 'hMHgEs');
});
