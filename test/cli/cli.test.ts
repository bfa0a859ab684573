import { type TestContext, test } from 'node:test';
import { VERSION } from '../../src/version.ts';
import { runCli } from '../helpers/cli.ts';

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
