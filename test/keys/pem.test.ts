import { type TestContext, test } from 'node:test';
import { isArozError } from '../../src/errors.ts';
import { pemOf, spkiDerFromPem } from '../../src/keys/pem.ts';
import { privateKeyPem, publicKeyPem } from '../../src/keys/rsa.ts';
import { testKeyPair } from '../helpers/keys.ts';

const invalid = (err: unknown) => isArozError(err, 'ERR_KEY_INVALID');

test('spkiDerFromPem reads an SPKI block with CRLF line ends and surrounding blank lines', async (t: TestContext) => {
  const pair = await testKeyPair();
  const pem = `\n\n${publicKeyPem(pair).replaceAll('\n', '\r\n')}\n`;
  t.assert.deepStrictEqual(spkiDerFromPem(pem, 'k'), pair.spkiDer);
});

test('spkiDerFromPem refuses two blocks, headers, private keys, other labels, truncation and text around', async (t: TestContext) => {
  const pair = await testKeyPair();
  const pem = publicKeyPem(pair);
  const lines = pem.trim().split('\n');
  const cases: Record<string, string> = {
    'two blocks': pem + pem,
    headers: pem.replace('-----\n', '-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\n'),
    'a private key': privateKeyPem(pair),
    'an RSA PUBLIC KEY block': pem.replaceAll('PUBLIC KEY', 'RSA PUBLIC KEY'),
    'a missing END line': lines.slice(0, -1).join('\n'),
    'text before': `hello ${pem}`,
    'text after': `${pem} bye`,
    'damaged base64': pem.replace(/\n[A-Za-z0-9+/]{4}/, '\n!!!!'),
    'no PEM at all': 'just some words',
    'an empty block': pemOf(Buffer.alloc(0), 'PUBLIC KEY'),
  };
  for (const [name, text] of Object.entries(cases)) {
    t.assert.throws(() => spkiDerFromPem(text, 'k'), invalid, name);
  }
});

test('spkiDerFromPem uses the error code it is given (pasted input is ERR_PAIRING_INVALID)', (t: TestContext) => {
  t.assert.throws(
    () => spkiDerFromPem('garbage', 'The pasted key', 'ERR_PAIRING_INVALID'),
    (err) => isArozError(err, 'ERR_PAIRING_INVALID'),
  );
});
