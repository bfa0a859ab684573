/**
 * `arozdfs demo` as a real process: three real node processes, upload, kill one, download, verify —
 * and afterwards no node process and no temporary folder left, whether it finished or was
 * interrupted with Ctrl-C (SIGINT) in the middle of the upload.
 */
import { spawn } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { type TestContext, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runCli } from '../helpers/cli.ts';
import { teardown, tmpDir } from '../helpers/context.ts';

const CLI = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));

/** Processes whose command line mentions `text` (the demo's temp folder is in every node's --home). */
async function processesMentioning(text: string): Promise<number[]> {
  const found: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.includes(text)) found.push(Number(entry));
  }
  return found;
}

test('demo uploads, kills a node, downloads an identical file and leaves nothing behind', async (t: TestContext) => {
  const tmp = await tmpDir(t);
  const run = await runCli(['--json', 'demo'], { env: { TMPDIR: tmp }, timeoutMs: 110_000 });
  t.assert.strictEqual(run.code, 0, run.stderr);
  const lines = run.lines();
  const result = lines.at(-1) ?? {};
  t.assert.strictEqual(result['type'], 'result');
  t.assert.strictEqual(result['command'], 'demo');
  t.assert.strictEqual(result['identical'], true);
  const nodes = result['nodes'] as Array<{ uuid: string }>;
  const placement = result['placement'] as Array<{ holders: string[] }>;
  t.assert.strictEqual(nodes.length, 3);
  t.assert.notStrictEqual(result['killed'], nodes[0]?.uuid); // never the uploader
  t.assert.ok(placement.length > 0);
  t.assert.ok(placement.every((c) => c.holders.length === 2 && c.holders[0] !== c.holders[1]));
  t.assert.strictEqual((result['check'] as { lost: number }).lost, 0);
  t.assert.ok(lines.slice(0, -1).every((l) => l['type'] === 'progress'));
  t.assert.deepStrictEqual(await readdir(tmp), []);
  t.assert.deepStrictEqual(await processesMentioning(tmp), []);
});

test('demo interrupted by SIGINT during the upload exits 130 and leaves nothing behind', async (t: TestContext) => {
  const tmp = await tmpDir(t);
  const child = spawn(process.execPath, [CLI, '--json', 'demo', '--size', '64MiB', '--chunk-size', '1MiB'], {
    env: { ...process.env, TMPDIR: tmp },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  teardown(t).defer(async () => {
    child.kill('SIGKILL');
    await exited;
  });
  const lines: Array<Record<string, unknown>> = [];
  const reader = createInterface({ input: child.stdout });
  reader.on('line', (line) => {
    const value = JSON.parse(line) as Record<string, unknown>;
    lines.push(value);
    if (value['type'] === 'progress' && value['phase'] === 'upload') child.kill('SIGINT');
  });
  t.assert.strictEqual(await exited, 130);
  t.assert.strictEqual(lines.at(-1)?.['code'], 'ERR_INTERRUPTED');
  t.assert.ok(lines.some((l) => l['type'] === 'progress'));
  t.assert.deepStrictEqual(await readdir(tmp), []);
  t.assert.deepStrictEqual(await processesMentioning(tmp), []);
});
