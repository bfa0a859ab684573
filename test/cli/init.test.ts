import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { isUuid } from '../../src/uuid.ts';
import { runCli } from '../helpers/cli.ts';
import { tmpDir } from '../helpers/context.ts';
import { snapshot } from '../helpers/tree.ts';
import { readOnlyUnavailable, runCliReadOnly } from '../helpers/wrapped-cli.ts';

const errorCode = (run: { lines(): Array<Record<string, unknown>> }) => run.lines().at(-1)?.['code'];

test('init makes a home and says what it made; keys show then works', async (t: TestContext) => {
  const home = join(await tmpDir(t), 'home');
  const run = await runCli(['--json', 'init', '--name', 'alpha'], { home });
  t.assert.strictEqual(run.code, 0, run.stdout + run.stderr);
  const result = run.lines().at(-1) ?? {};
  t.assert.strictEqual(result['type'], 'result');
  t.assert.strictEqual(result['name'], 'alpha');
  t.assert.ok(isUuid(result['nodeUuid']) && isUuid(result['keyUuid']));
  const show = (await runCli(['--json', 'keys', 'show'], { home })).lines().at(-1) ?? {};
  t.assert.strictEqual(show['nodeUuid'], result['nodeUuid']);
  t.assert.strictEqual(show['fingerprint'], result['fingerprint']);
});

test('init on an existing home refuses with ERR_HOME_EXISTS and changes nothing', async (t: TestContext) => {
  const home = join(await tmpDir(t), 'home');
  t.assert.strictEqual((await runCli(['init'], { home })).code, 0);
  const before = await snapshot(home);
  const run = await runCli(['--json', 'init', '--name', 'again'], { home });
  t.assert.strictEqual(run.code, 1);
  t.assert.strictEqual(errorCode(run), 'ERR_HOME_EXISTS');
  t.assert.deepStrictEqual(await snapshot(home), before);
});

test('two init processes racing on one home: exactly one succeeds', async (t: TestContext) => {
  const home = join(await tmpDir(t), 'home');
  const runs = await Promise.all([
    runCli(['--json', 'init'], { home }),
    runCli(['--json', 'init'], { home }),
  ]);
  t.assert.deepStrictEqual(runs.map((r) => r.code).sort(), [0, 1]);
  t.assert.strictEqual(errorCode(runs.find((r) => r.code === 1)!), 'ERR_HOME_EXISTS');
  const winner = runs
    .find((r) => r.code === 0)!
    .lines()
    .at(-1)?.['nodeUuid'];
  const show = (await runCli(['--json', 'keys', 'show'], { home })).lines().at(-1);
  t.assert.strictEqual(show?.['nodeUuid'], winner);
});

test('init refuses a home that is a file, a bad --bits or a bad --name, and writes nothing', async (t: TestContext) => {
  const dir = await tmpDir(t);
  await writeFile(join(dir, 'file'), 'x');
  const before = await snapshot(dir);
  const cases: Array<[string[], string, string, number]> = [
    [['init'], join(dir, 'file'), 'ERR_NOT_A_DIRECTORY', 1],
    [['init', '--bits', '2048'], join(dir, 'home'), 'ERR_USAGE', 2],
    [['init', '--bits', '8192'], join(dir, 'home'), 'ERR_USAGE', 2],
    [['init', '--bits', 'lots'], join(dir, 'home'), 'ERR_USAGE', 2],
    [['init', '--name', 'tab\there'], join(dir, 'home'), 'ERR_USAGE', 2],
    [['init', '--name', '\u202eevil'], join(dir, 'home'), 'ERR_USAGE', 2],
  ];
  for (const [args, home, expected, exit] of cases) {
    const run = await runCli(['--json', ...args], { home });
    t.assert.strictEqual(errorCode(run), expected, args.join(' '));
    t.assert.strictEqual(run.code, exit, args.join(' '));
  }
  t.assert.deepStrictEqual(await snapshot(dir), before);
});

test('init with --bits 4096 makes a 4096-bit key', async (t: TestContext) => {
  const home = join(await tmpDir(t), 'home');
  t.assert.strictEqual((await runCli(['init', '--bits', '4096'], { home })).code, 0);
  const list = (await runCli(['--json', 'keys', 'list'], { home })).lines().at(-1) ?? {};
  t.assert.deepStrictEqual(
    (list['keys'] as Array<{ bits: number }>).map((k) => k.bits),
    [4096],
  );
});

test('init in a read-only folder refuses with ERR_PERMISSION_DENIED and writes nothing', {
  skip: readOnlyUnavailable,
}, async (t: TestContext) => {
  const dir = await tmpDir(t);
  const home = join(dir, 'home');
  await mkdir(home, { mode: 0o700 });
  const before = await snapshot(dir);
  const run = await runCliReadOnly(home, ['--json', '--home', home, 'init']);
  t.assert.strictEqual(run.code, 1, run.stderr);
  t.assert.strictEqual(errorCode(run), 'ERR_PERMISSION_DENIED');
  t.assert.deepStrictEqual(await snapshot(dir), before);
});
