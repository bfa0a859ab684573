import { chmod, chown, mkdir, readFile, rename, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { NodeHome } from '../../src/home/open.ts';
import { fingerprintTail } from '../../src/keys/fingerprint.ts';
import { encodePairing, formatPairing } from '../../src/keys/pairing.ts';
import { type KeyPair, publicKeyPem } from '../../src/keys/rsa.ts';
import { newUuid } from '../../src/uuid.ts';
import { runCli } from '../helpers/cli.ts';
import { homeTemplate } from '../helpers/homes.ts';
import { ecPublicKey, ed25519PublicKey, oddRsaPublicKey, spkiOf, testKeyPair } from '../helpers/keys.ts';
import { snapshot } from '../helpers/tree.ts';
import {
  readOnlyUnavailable,
  runCliOnTerminal,
  runCliReadOnly,
  ttyUnavailable,
} from '../helpers/wrapped-cli.ts';

const template = homeTemplate('alpha');
const last = (run: { lines(): Array<Record<string, unknown>> }) => run.lines().at(-1) ?? {};

/** A copy of the template home that already trusts one peer (`pinned`, with key `pinnedKey`). */
async function homeWithPeer(t: TestContext) {
  const home = await template.copy(t);
  const opened = await NodeHome.open(home);
  const pinnedKey = await testKeyPair(1);
  const pinned = newUuid();
  await opened.addPeer(await opened.trustStore(), { nodeUuid: pinned, key: pinnedKey, label: 'beta' }, 'cli');
  return { home, pinned, pinnedKey, self: opened.config.nodeUuid, own: await opened.activeKeyPair() };
}

test('peers add refuses every bad input with its code and writes nothing', async (t: TestContext) => {
  const { home, pinned, pinnedKey, self, own } = await homeWithPeer(t);
  const fresh = await testKeyPair(2);
  const good = formatPairing(newUuid(), fresh, 'gamma');
  const pem = publicKeyPem(fresh);
  const withKey = (der: Uint8Array, uuid = newUuid()) =>
    encodePairing({ nodeUuid: uuid, spkiDer: der, label: 'x' });
  const withUuid = (uuid: string, key: KeyPair = fresh) =>
    encodePairing({ nodeUuid: uuid, spkiDer: key.spkiDer, label: 'x' });
  const uuid = newUuid();
  // [name, arguments after "peers", stdin, expected code]
  const cases: Array<[string, string[], string, string]> = [
    ['garbage', ['add', 'hello-world', '--yes'], '', 'ERR_PAIRING_INVALID'],
    ['garbage on stdin', ['add', '-', '--yes'], '\u0000\u0001binary', 'ERR_PAIRING_INVALID'],
    ['a truncated string', ['add', good.slice(0, 200), '--yes'], '', 'ERR_PAIRING_INVALID'],
    ['a string cut before its check', ['add', good.slice(0, -9), '--yes'], '', 'ERR_PAIRING_INVALID'],
    ['a doubled string', ['add', '-', '--yes'], `${good}\n${good}\n`, 'ERR_PAIRING_INVALID'],
    ['two PEM blocks', ['add', '-', '--uuid', uuid, '--yes'], pem + pem, 'ERR_PAIRING_INVALID'],
    [
      'PEM headers',
      ['add', '-', '--uuid', uuid, '--yes'],
      pem.replace('-----\n', '-----\nProc-Type: 4,ENCRYPTED\n\n'),
      'ERR_PAIRING_INVALID',
    ],
    ['a truncated PEM', ['add', '-', '--uuid', uuid, '--yes'], pem.slice(0, 300), 'ERR_PAIRING_INVALID'],
    ['a PEM without --uuid', ['add', '-', '--yes'], pem, 'ERR_USAGE'],
    ['an EC key', ['add', withKey(spkiOf(ecPublicKey())), '--yes'], '', 'ERR_KEY_UNSUPPORTED'],
    ['an Ed25519 key', ['add', withKey(spkiOf(ed25519PublicKey())), '--yes'], '', 'ERR_KEY_UNSUPPORTED'],
    [
      'an EC PEM',
      ['add', '-', '--uuid', uuid, '--yes'],
      `${ecPublicKey().export({ type: 'spki', format: 'pem' })}`,
      'ERR_KEY_UNSUPPORTED',
    ],
    ['RSA-2048', ['add', withKey(spkiOf(oddRsaPublicKey(2048))), '--yes'], '', 'ERR_KEY_UNSUPPORTED'],
    ['RSA-8200', ['add', withKey(spkiOf(oddRsaPublicKey(8200))), '--yes'], '', 'ERR_KEY_UNSUPPORTED'],
    [
      'RSA with e = 3',
      ['add', withKey(spkiOf(oddRsaPublicKey(3072, 3))), '--yes'],
      '',
      'ERR_KEY_UNSUPPORTED',
    ],
    ['a UUID ../../x in the string', ['add', withUuid('../../x'), '--yes'], '', 'ERR_INVALID_UUID'],
    [
      'an upper-case UUID in the string',
      ['add', withUuid(uuid.toUpperCase()), '--yes'],
      '',
      'ERR_INVALID_UUID',
    ],
    ['a UUID in braces', ['add', withUuid(`{${uuid}}`), '--yes'], '', 'ERR_INVALID_UUID'],
    ['--uuid ../../x', ['add', '-', '--uuid', '../../x', '--yes'], pem, 'ERR_INVALID_UUID'],
    ['--uuid in upper case', ['add', '-', '--uuid', uuid.toUpperCase(), '--yes'], pem, 'ERR_INVALID_UUID'],
    ['--uuid in braces', ['add', '-', '--uuid', `{${uuid}}`, '--yes'], pem, 'ERR_INVALID_UUID'],
    ['--uuid with urn:uuid:', ['add', '-', '--uuid', `urn:uuid:${uuid}`, '--yes'], pem, 'ERR_INVALID_UUID'],
    ["this node's own key", ['add', withKey(own.spkiDer), '--yes'], '', 'ERR_PEER_SELF'],
    ["this node's own UUID", ['add', withUuid(self), '--yes'], '', 'ERR_PEER_SELF'],
    [
      'a key pinned under another UUID',
      ['add', withUuid(newUuid(), pinnedKey), '--yes'],
      '',
      'ERR_PEER_CONFLICT',
    ],
    ['a pinned UUID with another key', ['add', withUuid(pinned, fresh), '--yes'], '', 'ERR_PEER_CONFLICT'],
    ['over 16 KiB on stdin', ['add', '-', '--yes'], good + ' '.repeat(17 * 1024), 'ERR_PAIRING_INVALID'],
    ['no --yes and no terminal', ['add', good], '', 'ERR_NOT_CONFIRMED'],
    ['remove ../../x', ['remove', '../../x'], '', 'ERR_INVALID_UUID'],
    ['remove an unknown UUID', ['remove', newUuid()], '', 'ERR_PEER_NOT_FOUND'],
  ];
  const before = await snapshot(home);
  for (const [name, args, input, expected] of cases) {
    const run = await runCli(['--json', 'peers', ...args], { home, input });
    t.assert.strictEqual(last(run)['code'], expected, `${name}: ${run.stdout}`);
    t.assert.deepStrictEqual(await snapshot(home), before, name);
  }
});

test('a pairing string with a BOM, zero-width and bidi characters around it is accepted', async (t: TestContext) => {
  const home = await template.copy(t);
  const key = await testKeyPair(2);
  const node = newUuid();
  const input = `\ufeff\u200b\u2066${formatPairing(node, key, 'gamma')}\u2069\u200d\n`;
  const run = await runCli(['--json', 'peers', 'add', '-', '--yes'], { home, input });
  t.assert.strictEqual(last(run)['fingerprint'], key.fingerprint, run.stdout);
  t.assert.strictEqual(last(run)['nodeUuid'], node);
});

test('a label with <script> and bidi overrides is stored harmless', async (t: TestContext) => {
  const home = await template.copy(t);
  const key = await testKeyPair(2);
  const node = newUuid();
  const label = '<script>alert(1)</script>\u202eexe.txt';
  const run = await runCli(
    ['--json', 'peers', 'add', encodePairing({ nodeUuid: node, spkiDer: key.spkiDer, label }), '--yes'],
    { home },
  );
  t.assert.strictEqual(run.code, 0, run.stdout);
  const stored = await readFile(join(home, 'ADDC/keypairs/remote', `${node}.json`), 'utf8');
  t.assert.doesNotMatch(stored, /[<>\u202e]|\\u202e/);
  const listed = (
    last(await runCli(['--json', 'peers', 'list'], { home }))['peers'] as Array<{ label: string }>
  )[0];
  t.assert.strictEqual(listed?.label, 'scriptalert(1)/scriptexe.txt');
});

test('a PEM public key with --uuid is trusted; adding it again changes nothing', async (t: TestContext) => {
  const home = await template.copy(t);
  const key = await testKeyPair(2);
  const node = newUuid();
  const first = await runCli(['--json', 'peers', 'add', '-', '--uuid', node, '--yes'], {
    home,
    input: publicKeyPem(key),
  });
  t.assert.strictEqual(last(first)['added'], true, first.stdout);
  const before = await snapshot(home);
  const again = await runCli(['--json', 'peers', 'add', '-', '--uuid', node, '--yes'], {
    home,
    input: publicKeyPem(key),
  });
  t.assert.strictEqual(last(again)['added'], false);
  t.assert.deepStrictEqual(await snapshot(home), before);
});

test('peers remove revokes: the key file goes, the audit log says so, list is empty', async (t: TestContext) => {
  const { home, pinned, pinnedKey } = await homeWithPeer(t);
  const run = await runCli(['--json', 'peers', 'remove', pinned], { home });
  t.assert.strictEqual(last(run)['fingerprint'], pinnedKey.fingerprint, run.stdout);
  t.assert.deepStrictEqual(last(await runCli(['--json', 'peers', 'list'], { home }))['peers'], []);
  const names = Object.keys(await snapshot(join(home, 'ADDC/keypairs/remote')));
  t.assert.deepStrictEqual(names, ['.']);
  const audit = (await readFile(join(home, 'ADDC/audit.log'), 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  t.assert.deepStrictEqual(
    audit.slice(-2).map((e) => [e['action'], e['nodeUuid'], e['fingerprint'], e['from']]),
    [
      ['trust', pinned, pinnedKey.fingerprint, 'cli'],
      ['revoke', pinned, pinnedKey.fingerprint, 'cli'],
    ],
  );
});

test('peers remove keeps the key as retired; --compromised, even after the removal, drops it', async (t: TestContext) => {
  const { home, pinned, pinnedKey } = await homeWithPeer(t);
  const retiredPath = join(home, 'ADDC/retired-peers.json');
  const retired = async () =>
    (JSON.parse(await readFile(retiredPath, 'utf8')) as { peers: Array<Record<string, unknown>> }).peers;
  const run = await runCli(['--json', 'peers', 'remove', pinned], { home });
  t.assert.strictEqual(run.code, 0, run.stderr);
  t.assert.deepStrictEqual(
    (await retired()).map((p) => [p['nodeUuid'], p['fingerprint'], p['label']]),
    [[pinned, pinnedKey.fingerprint, 'beta']],
  );
  const again = await runCli(['--json', 'peers', 'remove', pinned, '--compromised'], { home });
  t.assert.strictEqual(again.code, 0, again.stdout + again.stderr);
  t.assert.deepStrictEqual(await retired(), []);
  const twice = await runCli(['--json', 'peers', 'remove', pinned, '--compromised'], { home });
  t.assert.strictEqual(last(twice)['code'], 'ERR_PEER_NOT_FOUND');

  const other = await homeWithPeer(t);
  const compromised = await runCli(['--json', 'peers', 'remove', other.pinned, '--compromised'], {
    home: other.home,
  });
  t.assert.strictEqual(compromised.code, 0, compromised.stderr);
  t.assert.deepStrictEqual(
    last(await runCli(['--json', 'peers', 'list'], { home: other.home }))['peers'],
    [],
  );
});

test('peers list and add refuse loose, symlinked or foreign trust files with ERR_INSECURE_PATH', async (t: TestContext) => {
  const fresh = formatPairing(newUuid(), await testKeyPair(2), 'gamma');
  const spoilers: Array<[string, (home: string, pinned: string) => Promise<void>]> = [
    [
      'a world-writable key file',
      (home, pinned) => chmod(join(home, 'ADDC/keypairs/remote', `${pinned}_rsa.pub`), 0o666),
    ],
    [
      'a key file of another user',
      (home, pinned) => chown(join(home, 'ADDC/keypairs/remote', `${pinned}_rsa.pub`), 65534, 65534),
    ],
    ['a group-writable remote folder', (home) => chmod(join(home, 'ADDC/keypairs/remote'), 0o770)],
    [
      'a symlinked remote folder',
      async (home) => {
        const remote = join(home, 'ADDC/keypairs/remote');
        await mkdir(join(home, 'elsewhere'), { mode: 0o700 });
        await rename(remote, join(home, 'elsewhere/remote'));
        await symlink(join(home, 'elsewhere/remote'), remote);
      },
    ],
  ];
  for (const [name, spoil] of spoilers) {
    const { home, pinned } = await homeWithPeer(t);
    await spoil(home, pinned);
    const before = await snapshot(home);
    for (const args of [
      ['peers', 'list'],
      ['peers', 'add', fresh, '--yes'],
    ]) {
      t.assert.strictEqual(
        last(await runCli(['--json', ...args], { home }))['code'],
        'ERR_INSECURE_PATH',
        `${name}: ${args[1]}`,
      );
    }
    t.assert.deepStrictEqual(await snapshot(home), before, name);
  }
});

test('on a read-only home peers add and remove are ERR_PERMISSION_DENIED and write nothing', {
  skip: readOnlyUnavailable,
}, async (t: TestContext) => {
  const { home, pinned } = await homeWithPeer(t);
  const fresh = formatPairing(newUuid(), await testKeyPair(2), 'gamma');
  const before = await snapshot(home);
  for (const args of [
    ['peers', 'add', fresh, '--yes'],
    ['peers', 'remove', pinned],
  ]) {
    const run = await runCliReadOnly(home, ['--json', '--home', home, ...args]);
    t.assert.strictEqual(
      last(run)['code'],
      'ERR_PERMISSION_DENIED',
      `${args[1]}: ${run.stdout}${run.stderr}`,
    );
  }
  t.assert.deepStrictEqual(await snapshot(home), before);
});

test('on a terminal, peers add trusts only after the last 6 fingerprint characters are typed', {
  skip: ttyUnavailable,
}, async (t: TestContext) => {
  const home = await template.copy(t);
  const key = await testKeyPair(2);
  const node = newUuid();
  const pairing = formatPairing(node, key, 'gamma').replace(/(.{100})/g, '$1\n');
  const before = await snapshot(home);
  const wrong = await runCliOnTerminal(['--home', home, 'peers', 'add', '-'], `${pairing}\n\nabcdef\n`);
  t.assert.strictEqual(wrong.code, 1, wrong.stdout);
  t.assert.match(wrong.stdout, /ERR_NOT_CONFIRMED/);
  t.assert.deepStrictEqual(await snapshot(home), before);
  const right = await runCliOnTerminal(
    ['--home', home, 'peers', 'add', '-'],
    `${pairing}\n\n${fingerprintTail(key.fingerprint)}\n`,
  );
  t.assert.strictEqual(right.code, 0, right.stdout);
  t.assert.ok(right.stdout.includes(key.fingerprint.slice(7, 11)), 'the fingerprint was shown');
  const peers = last(await runCli(['--json', 'peers', 'list'], { home }))['peers'] as Array<{
    nodeUuid: string;
  }>;
  t.assert.deepStrictEqual(
    peers.map((p) => p.nodeUuid),
    [node],
  );
});

test('on a terminal, keys activate asks and switches only on "yes"', {
  skip: ttyUnavailable,
}, async (t: TestContext) => {
  const home = await template.copy(t);
  const made = last(await runCli(['--json', 'keys', 'generate'], { home }));
  const keyUuid = String(made['keyUuid']);
  const before = await snapshot(home);
  const no = await runCliOnTerminal(['--home', home, 'keys', 'activate', keyUuid], 'no\n');
  t.assert.strictEqual(no.code, 1, no.stdout);
  t.assert.match(no.stdout, /must be paired again|pair again|re-pair|paired with this one/);
  t.assert.deepStrictEqual(await snapshot(home), before);
  const yes = await runCliOnTerminal(['--home', home, 'keys', 'activate', keyUuid], 'yes\n');
  t.assert.strictEqual(yes.code, 0, yes.stdout);
  t.assert.strictEqual(last(await runCli(['--json', 'keys', 'show'], { home }))['keyUuid'], keyUuid);
});
