import { execFileSync } from 'node:child_process';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { parsePastedPeer } from '../../src/keys/pairing.ts';
import { runCli } from '../helpers/cli.ts';
import { tmpDir } from '../helpers/context.ts';
import { homeTemplate } from '../helpers/homes.ts';
import { snapshot } from '../helpers/tree.ts';
import { readOnlyUnavailable, runCliReadOnly } from '../helpers/wrapped-cli.ts';

const template = homeTemplate('alpha');
const last = (run: { lines(): Array<Record<string, unknown>> }) => run.lines().at(-1) ?? {};

test('keys show --json gives nodeUuid, keyUuid, fingerprint, pairing and pem that agree with openssl', async (t: TestContext) => {
  const dir = await tmpDir(t);
  const run = await runCli(['--json', 'keys', 'show'], { home: template.path });
  t.assert.strictEqual(run.code, 0, run.stderr);
  const show = last(run);
  const pemFile = join(dir, 'peer.pub');
  await writeFile(pemFile, String(show['pem']));
  const pipeline =
    'openssl pkey -pubin -in "$1" -outform DER | openssl dgst -sha256 -binary | base64 | tr -d =';
  const openssl = execFileSync('sh', ['-c', pipeline, 'sh', pemFile], { encoding: 'utf8' }).trim();
  t.assert.strictEqual(show['fingerprint'], `SHA256:${openssl}`);
  const pasted = parsePastedPeer(String(show['pairing']));
  t.assert.strictEqual(pasted.nodeUuid, show['nodeUuid']);
  t.assert.strictEqual(pasted.key.fingerprint, show['fingerprint']);
  t.assert.strictEqual(pasted.label, 'alpha');
  const config = JSON.parse(await readFile(join(template.path, 'ADDC/node.json'), 'utf8')) as Record<
    string,
    unknown
  >;
  t.assert.strictEqual(show['keyUuid'], config['activeKey']);
});

test('keys show for people prints the pairing string, the grouped fingerprint and what to do', async (t: TestContext) => {
  const json = last(await runCli(['--json', 'keys', 'show'], { home: template.path }));
  const run = await runCli(['keys', 'show'], { home: template.path });
  t.assert.strictEqual(run.code, 0);
  t.assert.ok(run.stdout.includes(`\n${String(json['pairing'])}\n`));
  const fingerprint = String(json['fingerprint']);
  t.assert.ok(run.stdout.includes(fingerprint.slice(0, 11)), 'grouped fingerprint');
  t.assert.ok(run.stdout.includes(fingerprint.slice(-6)), 'the 6 characters to type');
  t.assert.match(run.stdout, /arozdfs peers add -/);
  t.assert.ok(run.stdout.includes(String(json['pem'])));
});

test('keys generate adds an inactive key; activate --yes switches to it and keeps the old one', async (t: TestContext) => {
  const home = await template.copy(t);
  const first = last(await runCli(['--json', 'keys', 'show'], { home }));
  const made = last(await runCli(['--json', 'keys', 'generate'], { home }));
  t.assert.strictEqual(made['active'], false);
  t.assert.strictEqual(made['bits'], 3072);
  const before = await snapshot(home);
  const refused = await runCli(['--json', 'keys', 'activate', String(made['keyUuid'])], { home });
  t.assert.strictEqual(refused.code, 1);
  t.assert.strictEqual(last(refused)['code'], 'ERR_NOT_CONFIRMED');
  t.assert.deepStrictEqual(await snapshot(home), before);
  const activated = await runCli(['--json', 'keys', 'activate', String(made['keyUuid']), '--yes'], { home });
  t.assert.strictEqual(last(activated)['changed'], true, activated.stdout);
  const list = last(await runCli(['--json', 'keys', 'list'], { home }));
  const keys = list['keys'] as Array<{ keyUuid: string; active: boolean }>;
  t.assert.deepStrictEqual(
    keys.map((k) => [k.keyUuid, k.active]),
    [
      [first['keyUuid'], false],
      [made['keyUuid'], true],
    ],
  );
  t.assert.strictEqual(
    last(await runCli(['--json', 'keys', 'show'], { home }))['fingerprint'],
    made['fingerprint'],
  );
  const audit = (await readFile(join(home, 'ADDC/audit.log'), 'utf8')).trim().split('\n');
  t.assert.deepStrictEqual(
    audit.map((l) => (JSON.parse(l) as { action: string }).action),
    ['key-generate', 'key-generate', 'key-activate'],
  );
});

test('keys commands refuse bad input with their codes and write nothing', async (t: TestContext) => {
  const home = await template.copy(t);
  const before = await snapshot(home);
  const cases: Array<[string[], string]> = [
    [['keys', 'activate', '../../x', '--yes'], 'ERR_INVALID_UUID'],
    [['keys', 'activate', 'A1B2C3D4-0000-4000-8000-000000000000', '--yes'], 'ERR_INVALID_UUID'],
    [['keys', 'activate', '3f1c7a52-9d0e-4b7a-8c3f-5e6d7c8b9a01', '--yes'], 'ERR_KEY_NOT_FOUND'],
    [['keys', 'generate', '--bits', '2048'], 'ERR_USAGE'],
    [['keys', 'generate', '--bits', '5000'], 'ERR_USAGE'],
  ];
  for (const [args, expected] of cases) {
    t.assert.strictEqual(last(await runCli(['--json', ...args], { home }))['code'], expected, args.join(' '));
  }
  t.assert.deepStrictEqual(await snapshot(home), before);
});

test('keys commands on a missing home or a file answer ERR_HOME_NOT_FOUND or ERR_NOT_A_DIRECTORY', async (t: TestContext) => {
  const dir = await tmpDir(t);
  await writeFile(join(dir, 'file'), 'x');
  for (const args of [
    ['keys', 'list'],
    ['keys', 'show'],
    ['keys', 'generate'],
  ]) {
    t.assert.strictEqual(
      last(await runCli(['--json', ...args], { home: join(dir, 'none') }))['code'],
      'ERR_HOME_NOT_FOUND',
    );
    t.assert.strictEqual(
      last(await runCli(['--json', ...args], { home: join(dir, 'file') }))['code'],
      'ERR_NOT_A_DIRECTORY',
    );
  }
  t.assert.deepStrictEqual(Object.keys(await snapshot(dir)).sort(), ['.', 'file']);
});

test('keys list and show refuse a private key readable by others (ERR_INSECURE_PATH)', async (t: TestContext) => {
  const home = await template.copy(t);
  const show = last(await runCli(['--json', 'keys', 'show'], { home }));
  await chmod(join(home, 'ADDC/keypairs', `${String(show['keyUuid'])}_rsa`), 0o644);
  const before = await snapshot(home);
  for (const args of [
    ['keys', 'list'],
    ['keys', 'show'],
  ]) {
    t.assert.strictEqual(last(await runCli(['--json', ...args], { home }))['code'], 'ERR_INSECURE_PATH');
  }
  t.assert.deepStrictEqual(await snapshot(home), before);
});

test('on a read-only home keys list works and keys generate is ERR_PERMISSION_DENIED', {
  skip: readOnlyUnavailable,
}, async (t: TestContext) => {
  const home = await template.copy(t);
  const before = await snapshot(home);
  const list = await runCliReadOnly(home, ['--json', '--home', home, 'keys', 'list']);
  t.assert.strictEqual(list.code, 0, list.stdout);
  const made = await runCliReadOnly(home, ['--json', '--home', home, 'keys', 'generate']);
  t.assert.strictEqual(last(made)['code'], 'ERR_PERMISSION_DENIED');
  t.assert.deepStrictEqual(await snapshot(home), before);
});
