import { stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { VERSION } from '../../src/version.ts';
import { runCli } from '../helpers/cli.ts';
import { tmpDir } from '../helpers/context.ts';

test('--version prints the package version and exits 0', async (t: TestContext) => {
  const run = await runCli(['--version']);
  t.assert.strictEqual(run.code, 0);
  t.assert.strictEqual(run.stdout.trim(), VERSION);
});

test('--help lists every command of the CLI contract', async (t: TestContext) => {
  const run = await runCli(['--help']);
  t.assert.strictEqual(run.code, 0);
  for (const name of [
    'init',
    'serve',
    'keys',
    'peers',
    'cluster',
    'slice',
    'merge|open',
    'upload',
    'download',
    'check',
    'jobs',
    'demo',
    'start',
  ]) {
    t.assert.match(run.stdout, new RegExp(`^  ${name.replace('|', '\\|')}\\b`, 'm'), name);
  }
});

test('an unknown command is a usage error: exit 2, one line, no stack', async (t: TestContext) => {
  const run = await runCli(['bogus']);
  t.assert.strictEqual(run.code, 2);
  t.assert.match(run.stderr, /^arozdfs: .*bogus.*\(ERR_USAGE\)\n$/);
});

test('with --json a usage error is one JSON error line on stdout', async (t: TestContext) => {
  const run = await runCli(['slice', '--json', '--chunk-size']);
  t.assert.strictEqual(run.code, 2);
  const lines = run.lines();
  t.assert.strictEqual(lines.length, 1);
  t.assert.strictEqual(lines[0]?.['type'], 'error');
  t.assert.strictEqual(lines[0]?.['code'], 'ERR_USAGE');
});

test('a subcommand group without a command is a usage error', async (t: TestContext) => {
  const run = await runCli(['--json', 'keys']);
  t.assert.strictEqual(run.code, 2);
  t.assert.strictEqual(run.lines().at(-1)?.['code'], 'ERR_USAGE');
});

test('every malformed SIZE, address or UUID option is a usage error: exit 2, its code, before anything is opened', async (t: TestContext) => {
  // A home that does not exist: the option is refused before the home is looked for.
  const home = join(await tmpDir(t), 'no-home');
  const cases: Array<[string[], string]> = [
    [['slice', 'big.bin', '--chunk-size', '64MB2'], 'ERR_INVALID_SIZE'],
    [['slice', 'big.bin', '--chunk-size', '1K'], 'ERR_INVALID_SIZE'],
    [['slice', 'big.bin', '--chunk-size', '5G'], 'ERR_INVALID_SIZE'],
    [['slice', 'big.bin', '--chunk-size', '-5'], 'ERR_INVALID_SIZE'],
    [['upload', 'big.bin', '--chunk-size', '64MB2'], 'ERR_INVALID_SIZE'],
    [['demo', '--size', '0'], 'ERR_INVALID_SIZE'],
    [['demo', '--chunk-size', '1K'], 'ERR_INVALID_SIZE'],
    [['upload', 'big.bin', '--copies', '0'], 'ERR_USAGE'],
    [['upload', 'big.bin', '--nodes', 'not-a-uuid'], 'ERR_INVALID_UUID'],
    [['serve', '--listen', '127.0.3.1:99999'], 'ERR_USAGE'],
    [['serve', '--listen', 'nonsense'], 'ERR_USAGE'],
    [['serve', '--web', '127.0.0.1:70000'], 'ERR_USAGE'],
    [['serve', '--peer', 'x@127.0.0.1:1'], 'ERR_INVALID_UUID'],
    [['serve', '--mdns-interface', 'eth0'], 'ERR_USAGE'],
    [['start', '--listen', '127.0.3.1:99999'], 'ERR_USAGE'],
  ];
  const runs = await Promise.all(cases.map(([args]) => runCli(['--json', ...args], { home, cwd: tmpdir() })));
  t.assert.deepStrictEqual(
    runs.map((r) => [r.code, r.lines().at(-1)?.['code']]),
    cases.map(([, code]) => [2, code]),
  );
  const message = (k: number) => String(runs[k]!.lines().at(-1)?.['message']);
  t.assert.match(message(9), /port 99999 is out of range/);
  t.assert.match(message(11), /port 70000 is out of range/);
  t.assert.doesNotMatch(message(9), /is not host:port/);
  await t.assert.rejects(stat(home), { code: 'ENOENT' }); // start made no home
});
