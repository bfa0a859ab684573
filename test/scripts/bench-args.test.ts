/**
 * The benchmark scripts answer `--help` with their options and a wrong option or value with one line (exit 2),
 * not a stack trace (bench/args.ts). Real processes; none of them gets as far as measuring anything.
 */
import { type TestContext, test } from 'node:test';
import { runProcess } from '../helpers/cli.ts';

const bench = (script: string) => new URL(`../../bench/${script}`, import.meta.url).pathname;

test('node bench/cluster.ts --help lists its options and exits 0', async (t: TestContext) => {
  const run = await runProcess(process.execPath, [bench('cluster.ts'), '--help']);
  t.assert.strictEqual(run.code, 0, run.stderr);
  t.assert.match(run.stdout, /^Usage: node bench\/cluster\.ts \[options\]/);
  t.assert.match(run.stdout, /--chunk-size CHUNK_SIZE {2}\(default 64MiB\)/);
  t.assert.match(run.stdout, /--no-syncthing/);
  t.assert.match(run.stdout, /--no-level/);
});

test('node bench/slice.ts --help lists --no-level (its commands run on recycled pages unless told not to)', async (t: TestContext) => {
  const run = await runProcess(process.execPath, [bench('slice.ts'), '--help']);
  t.assert.strictEqual(run.code, 0, run.stderr);
  t.assert.match(run.stdout, /^Usage: node bench\/slice\.ts \[options\]/);
  t.assert.match(run.stdout, /--no-level/);
});

test('a bench script given a wrong option or value says which in one line and exits 2', async (t: TestContext) => {
  for (const [script, args, said] of [
    ['cluster.ts', ['--bogus'], "Unknown option '--bogus'"],
    ['slice.ts', ['--rounds'], "Option '--rounds <value>' argument missing"],
    ['slice.ts', ['--rounds', 'x'], '--rounds "x" is not a whole number of at least 1'],
    ['small-files.ts', ['--files', '0'], '--files "0" is not a whole number of at least 1'],
    ['small-files.ts', ['--lone-kib', '1.5'], '--lone-kib "1.5" is not a whole number of at least 1'],
    ['slice.ts', ['--size', '12Q'], 'Invalid --size "12Q"'],
    ['cluster.ts', ['--jobs', '-1'], "Option '--jobs' argument is ambiguous."],
  ] as const) {
    const run = await runProcess(process.execPath, [bench(script), ...args]);
    t.assert.strictEqual(run.code, 2, `${script}: ${run.stderr}`);
    t.assert.strictEqual(run.stdout, '');
    const lines = run.stderr.trim().split('\n');
    t.assert.strictEqual(lines.length, 1, run.stderr);
    t.assert.ok(lines[0]?.startsWith(`node bench/${script}: ${said}`), run.stderr);
  }
});
