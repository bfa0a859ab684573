import { type TestContext, test } from 'node:test';
import fc from 'fast-check';
import { isArozError } from '../../src/errors.ts';
import { sanitizeLabel } from '../../src/keys/label.ts';
import { encodePairing, formatPairing, MAX_PAIRING_INPUT, parsePastedPeer } from '../../src/keys/pairing.ts';
import { pemOf } from '../../src/keys/pem.ts';
import { publicKeyPem } from '../../src/keys/rsa.ts';
import { ecPublicKey, ed25519PublicKey, oddRsaPublicKey, spkiOf, testKeyPair } from '../helpers/keys.ts';
import { seedFastCheck } from '../helpers/random.ts';

seedFastCheck();

const NODE = '2f1c7a52-9d0e-4b7a-8c3f-5e6d7c8b9a01';
const code = (c: string) => (err: unknown) => isArozError(err) && err.code === c;

test('a pairing string parses back to its UUID, key and label', async (t: TestContext) => {
  const pair = await testKeyPair();
  const line = formatPairing(NODE, pair, 'nas in the attic');
  t.assert.match(line, /^arozdfs-pair-v1:[0-9a-f-]{36}:[A-Za-z0-9+/]+:[A-Za-z0-9+/]*:[0-9a-f]{8}$/);
  const peer = parsePastedPeer(line);
  t.assert.strictEqual(peer.nodeUuid, NODE);
  t.assert.strictEqual(peer.key.fingerprint, pair.fingerprint);
  t.assert.strictEqual(peer.label, 'nas in the attic');
  t.assert.strictEqual(peer.form, 'pairing');
});

test('any label survives a round trip as its sanitised form', async (t: TestContext) => {
  const pair = await testKeyPair();
  const result = fc.check(
    fc.property(fc.string({ unit: 'grapheme', maxLength: 100 }), (label) => {
      const peer = parsePastedPeer(encodePairing({ nodeUuid: NODE, spkiDer: pair.spkiDer, label }));
      return peer.label === sanitizeLabel(label);
    }),
  );
  t.assert.strictEqual(result.failed, false, fc.defaultReportMessage(result));
});

test('whitespace, line breaks and invisible characters anywhere are ignored', async (t: TestContext) => {
  const pair = await testKeyPair();
  const line = formatPairing(NODE, pair, 'alpha');
  const noise = fc.constantFrom(
    '\n',
    '\r\n',
    ' ',
    '\t',
    '\u00a0',
    '\ufeff',
    '\u200b',
    '\u200d',
    '\u2060',
    '\u202e',
    '\u2066',
    '\u00ad',
    '\u2028',
  );
  const result = fc.check(
    fc.property(fc.array(fc.tuple(fc.nat(line.length), noise), { maxLength: 40 }), (inserts) => {
      let text = line;
      for (const [at, ch] of inserts.sort((a, b) => b[0] - a[0]))
        text = text.slice(0, at) + ch + text.slice(at);
      const peer = parsePastedPeer(text);
      return peer.nodeUuid === NODE && peer.key.fingerprint === pair.fingerprint && peer.label === 'alpha';
    }),
  );
  t.assert.strictEqual(result.failed, false, fc.defaultReportMessage(result));
});

test('a BOM, zero-width and bidi characters around a valid string are accepted (bytes too)', async (t: TestContext) => {
  const pair = await testKeyPair();
  const text = `\ufeff\u200b\u202e ${formatPairing(NODE, pair, 'alpha')} \u2069\u200c\n`;
  t.assert.strictEqual(parsePastedPeer(Buffer.from(text, 'utf8')).key.fingerprint, pair.fingerprint);
});

test('a label with <script> or bidi overrides is made harmless', async (t: TestContext) => {
  const pair = await testKeyPair();
  const label = '<script>alert(1)</script>\u202egnp.exe\u001b[31m';
  const peer = parsePastedPeer(encodePairing({ nodeUuid: NODE, spkiDer: pair.spkiDer, label }));
  t.assert.strictEqual(peer.label, 'scriptalert(1)/scriptgnp.exe[31m');
  t.assert.doesNotMatch(peer.label, /[<>\p{Cc}\p{Cf}]/u);
});

test('a label is cut to 64 characters', async (t: TestContext) => {
  const pair = await testKeyPair();
  const peer = parsePastedPeer(
    encodePairing({ nodeUuid: NODE, spkiDer: pair.spkiDer, label: 'é'.repeat(200) }),
  );
  t.assert.strictEqual(Array.from(peer.label).length, 64);
});

test('a PEM public key with --uuid is accepted; without a UUID it is a usage error', async (t: TestContext) => {
  const pair = await testKeyPair();
  const peer = parsePastedPeer(`\ufeff${publicKeyPem(pair)}`, { uuid: NODE });
  t.assert.strictEqual(peer.form, 'pem');
  t.assert.strictEqual(peer.key.fingerprint, pair.fingerprint);
  t.assert.throws(() => parsePastedPeer(publicKeyPem(pair)), code('ERR_USAGE'));
});

test('every kind of broken pasted text is refused with its code', async (t: TestContext) => {
  const pair = await testKeyPair();
  const good = formatPairing(NODE, pair, 'alpha');
  const pem = publicKeyPem(pair);
  const withKey = (der: Uint8Array) => encodePairing({ nodeUuid: NODE, spkiDer: der, label: 'x' });
  const withUuid = (uuid: string) => encodePairing({ nodeUuid: uuid, spkiDer: pair.spkiDer, label: 'x' });
  const cases: Array<[string, string | Buffer, string, { uuid?: string }?]> = [
    ['garbage', 'hello world', 'ERR_PAIRING_INVALID'],
    ['nothing', ' \n\u200b ', 'ERR_PAIRING_INVALID'],
    ['truncated in the key', good.slice(0, 300), 'ERR_PAIRING_INVALID'],
    ['truncated before the check', good.slice(0, good.lastIndexOf(':')), 'ERR_PAIRING_INVALID'],
    ['one character cut from the end', good.slice(0, -1), 'ERR_PAIRING_INVALID'],
    [
      'one character changed in the key',
      good.replace(/:MII(.)/, (_m, c: string) => `:MII${c === 'B' ? 'C' : 'B'}`),
      'ERR_PAIRING_INVALID',
    ],
    ['doubled', good + good, 'ERR_PAIRING_INVALID'],
    ['doubled on two lines', `${good}\n${good}`, 'ERR_PAIRING_INVALID'],
    ['another version', good.replace('pair-v1', 'pair-v2'), 'ERR_PAIRING_INVALID'],
    ['a key that is not DER', withKey(Buffer.from('not a key at all')), 'ERR_PAIRING_INVALID'],
    [
      'an SPKI with trailing bytes',
      withKey(Buffer.concat([pair.spkiDer, Buffer.from([0])])),
      'ERR_PAIRING_INVALID',
    ],
    ['an EC key', withKey(spkiOf(ecPublicKey())), 'ERR_KEY_UNSUPPORTED'],
    ['an Ed25519 key', withKey(spkiOf(ed25519PublicKey())), 'ERR_KEY_UNSUPPORTED'],
    ['RSA-2048', withKey(spkiOf(oddRsaPublicKey(2048))), 'ERR_KEY_UNSUPPORTED'],
    ['RSA-8200', withKey(spkiOf(oddRsaPublicKey(8200))), 'ERR_KEY_UNSUPPORTED'],
    ['RSA with e = 3', withKey(spkiOf(oddRsaPublicKey(3072, 3))), 'ERR_KEY_UNSUPPORTED'],
    ['a UUID with ../', withUuid('../../x'), 'ERR_INVALID_UUID'],
    ['an upper-case UUID', withUuid(NODE.toUpperCase()), 'ERR_INVALID_UUID'],
    ['a UUID in braces', withUuid(`{${NODE}}`), 'ERR_INVALID_UUID'],
    ['a v1 UUID', withUuid('2f1c7a52-9d0e-1b7a-8c3f-5e6d7c8b9a01'), 'ERR_INVALID_UUID'],
    ['over 16 KiB', `${good}${' '.repeat(MAX_PAIRING_INPUT)}`, 'ERR_PAIRING_INVALID'],
    ['invalid UTF-8', Buffer.concat([Buffer.from(good), Buffer.from([0xff, 0xfe])]), 'ERR_PAIRING_INVALID'],
    ['a --uuid that differs', good, 'ERR_PAIRING_INVALID', { uuid: '3f1c7a52-9d0e-4b7a-8c3f-5e6d7c8b9a01' }],
    ['--uuid with urn:uuid:', pem, 'ERR_INVALID_UUID', { uuid: `urn:uuid:${NODE}` }],
    ['--uuid with ../', pem, 'ERR_INVALID_UUID', { uuid: '../../x' }],
    ['two PEM blocks', pem + pem, 'ERR_PAIRING_INVALID', { uuid: NODE }],
    [
      'PEM headers',
      pem.replace('-----\n', '-----\nProc-Type: 4,ENCRYPTED\n\n'),
      'ERR_PAIRING_INVALID',
      { uuid: NODE },
    ],
    ['truncated PEM', pem.slice(0, 200), 'ERR_PAIRING_INVALID', { uuid: NODE }],
    ['PEM missing a line', pem.replace(/\n[^\n]+\n/, '\n'), 'ERR_PAIRING_INVALID', { uuid: NODE }],
    ['an EC PEM', pemOf(spkiOf(ecPublicKey()), 'PUBLIC KEY'), 'ERR_KEY_UNSUPPORTED', { uuid: NODE }],
  ];
  for (const [name, input, expected, options] of cases) {
    t.assert.throws(() => parsePastedPeer(input, options ?? {}), code(expected), name);
  }
});
