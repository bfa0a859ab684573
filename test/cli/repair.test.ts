/**
 * `arozdfs repair` with real `arozdfs serve` processes on 127.0.0.2–4 (docs/repair.md): the uploader
 * is killed with SIGKILL, its store wiped, and removed with `peers remove` on the others; `repair
 * --json` on a survivor reports the copies it had the third node make, a second run finds nothing to
 * do, and a name the catalog does not have is ERR_NOT_FOUND with exit status 1.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { NodeHome } from '../../src/home/open.ts';
import { runCli } from '../helpers/cli.ts';
import { tmpDir } from '../helpers/context.ts';
import { pairAll, testnetTemplates } from '../helpers/testnet.ts';
import { until } from '../helpers/until.ts';
import { randomFile, type ServedNode, startServed } from './transfer-cluster.ts';
import { cliJson } from './transfer-json.ts';

const templates = testnetTemplates(3);

async function json(node: ServedNode, args: string[]) {
  const run = await runCli(['--json', ...args], { home: node.home, timeoutMs: 60_000 });
  const last = run.lines().at(-1) ?? {};
  return { run, last };
}

test('repair --json after the uploader is lost for good: the survivor has the third node copy every chunk', async (t: TestContext) => {
  const homes = await templates.homes(t);
  await pairAll(homes);
  for (const home of homes) await (await NodeHome.open(home)).updateConfig({ catalogSyncSeconds: 1 });
  const [a, b, c] = (await startServed(t, homes)) as [ServedNode, ServedNode, ServedNode];
  const dir = await tmpDir(t);
  const file = join(dir, 'kept.bin');
  await randomFile(file, 3 * 64 * 1024 + 5);
  const up = await cliJson(
    t,
    [
      'upload',
      file,
      '--chunk-size',
      '64KiB',
      '--nodes',
      `${a.uuid},${b.uuid}`,
      '--index',
      join(dir, 'kept.index.json'),
    ],
    {
      home: a.home,
    },
  );
  t.assert.strictEqual(up.code, 0, up.stderr);
  await until('node b lists the file', async () => {
    const { last } = await json(b, ['ls']);
    return (last['files'] as Array<{ name: string }> | undefined)?.some((f) => f.name === 'kept.bin');
  });
  await a.kill();
  await rm(join(a.home, 'stores'), { recursive: true, force: true });
  for (const node of [b, c]) {
    const removed = await json(node, ['peers', 'remove', a.uuid]);
    t.assert.strictEqual(removed.run.code, 0, removed.run.stderr);
  }
  const first = await json(b, ['repair', 'kept.bin']);
  t.assert.strictEqual(first.run.code, 0, first.run.stderr);
  t.assert.strictEqual(first.last['command'], 'repair');
  t.assert.strictEqual(first.last['copies'], 4);
  t.assert.strictEqual(first.last['underReplicated'], 4);
  t.assert.deepStrictEqual(first.last['failures'], []);
  const again = await json(b, ['repair']);
  t.assert.strictEqual(again.run.code, 0, again.run.stderr);
  t.assert.strictEqual(again.last['copies'], 0);
  t.assert.strictEqual(again.last['underReplicated'], 0);
  const missing = await json(b, ['repair', 'no-such-file']);
  t.assert.strictEqual(missing.run.code, 1);
  t.assert.strictEqual(missing.last['code'], 'ERR_NOT_FOUND');
});
