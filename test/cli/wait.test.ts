/** `arozdfs wait`: returns once this home's daemon has started; ERR_TIMEOUT when none does in time. */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { type TestContext, test } from 'node:test';
import { CLI, runCli } from '../helpers/cli.ts';
import { teardown } from '../helpers/context.ts';
import { homeTemplate } from '../helpers/homes.ts';

const template = homeTemplate();

/** Starts `serve` on 127.0.0.2 (port 0, no discovery, no web UI); resolves with its ready line. */
function serve(t: TestContext, home: string): Promise<Record<string, unknown>> {
  const child = spawn(
    process.execPath,
    [CLI, '--home', home, '--json', 'serve', '--listen', '127.0.0.2:0', '--no-discovery', '--web', 'off'],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  teardown(t).defer(async () => {
    child.kill('SIGINT');
    t.assert.strictEqual(await exited, 0);
  });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`serve exited with ${code} before it was ready`)));
    createInterface({ input: child.stdout }).on('line', (line) => {
      const value = JSON.parse(line) as Record<string, unknown>;
      if (value['type'] === 'ready') resolve(value);
    });
  });
}

test('wait with no daemon ends with ERR_TIMEOUT (exit 1) after --timeout', async (t: TestContext) => {
  const home = await template.copy(t);
  const run = await runCli(['--json', 'wait', '--timeout', '0.5'], { home });
  t.assert.strictEqual(run.code, 1, run.stderr);
  t.assert.strictEqual(run.lines().at(-1)?.['code'], 'ERR_TIMEOUT');
});

test('wait --timeout refuses what is not a number of seconds (ERR_USAGE, exit 2)', async (t: TestContext) => {
  const home = await template.copy(t);
  for (const bad of ['-1', '1x', '', '1e3', '90000']) {
    const run = await runCli(['--json', 'wait', '--timeout', bad], { home });
    t.assert.strictEqual(run.code, 2, `--timeout ${JSON.stringify(bad)}: ${run.stdout}`);
    t.assert.strictEqual(run.lines().at(-1)?.['code'], 'ERR_USAGE');
  }
});

test('wait started before serve returns once the daemon has started, with its cluster port', async (t: TestContext) => {
  const home = await template.copy(t);
  const waiting = runCli(['--json', 'wait', '--timeout', '120'], { home, timeoutMs: 130_000 });
  const ready = await serve(t, home);
  const run = await waiting;
  t.assert.strictEqual(run.code, 0, run.stdout + run.stderr);
  const result = run.lines().at(-1)!;
  t.assert.strictEqual(result['type'], 'result');
  t.assert.strictEqual(result['nodeUuid'], ready['nodeUuid']);
  t.assert.strictEqual(result['listen'], ready['listen']);
});
