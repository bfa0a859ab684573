/**
 * The catalog with real `arozdfs serve` processes on 127.0.0.2–4 (docs/catalog.md): a node lists
 * and downloads by name a file whose uploader's home is gone; `rm` while a holder is stopped, and
 * that holder trashing its copies when it returns; a frozen peer (SIGSTOP) blocking no other
 * catalog exchange; and the codes and exit statuses of bad `ls`/`rm`/`download`/`index export` input.
 */
import { readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { NodeHome } from '../../src/home/open.ts';
import { readIndexFile } from '../../src/index-file/index.ts';
import { trashPath } from '../../src/store/disk-layout.ts';
import { type CliRun, runCli } from '../helpers/cli.ts';
import { tmpDir } from '../helpers/context.ts';
import { pairAll, testnetTemplates } from '../helpers/testnet.ts';
import { until } from '../helpers/until.ts';
import { holds, randomFile, type ServedNode, startServed } from './transfer-cluster.ts';
import { cliJson } from './transfer-json.ts';

const templates = testnetTemplates(3);
const CHUNK = 64 * 1024;

/** Three paired nodes that sync their catalogs every second. */
async function served(t: TestContext): Promise<ServedNode[]> {
  const homes = await templates.homes(t);
  await pairAll(homes);
  for (const home of homes) await (await NodeHome.open(home)).updateConfig({ catalogSyncSeconds: 1 });
  return startServed(t, homes);
}

/** `arozdfs --json ARGS` on a node: the final line, its code, the exit status. */
async function json(node: ServedNode, args: string[], cwd?: string) {
  const run: CliRun = await runCli(['--json', ...args], {
    home: node.home,
    timeoutMs: 60_000,
    ...(cwd !== undefined ? { cwd } : {}),
  });
  const last = run.lines().at(-1) ?? {};
  return { run, last, code: last['type'] === 'error' ? String(last['code']) : undefined };
}

interface Listed {
  id: string;
  name: string;
  size: number;
  uploader: string;
  uploaderName: string | null;
  mine: boolean;
}

async function ls(node: ServedNode): Promise<Listed[]> {
  const { run, last } = await json(node, ['ls']);
  if (run.code !== 0) throw new Error(`ls failed: ${run.stdout}${run.stderr}`);
  return last['files'] as Listed[];
}

/** Uploads a file of 4 chunks named `name` from `from` onto `on` (2 copies each). */
async function upload(t: TestContext, from: ServedNode, on: ServedNode[], name: string) {
  const dir = await tmpDir(t);
  const file = join(dir, name);
  const bytes = await randomFile(file, 3 * CHUNK + 999);
  const nodes = on.map((n) => n.uuid).join(',');
  const run = await cliJson(
    t,
    ['upload', file, '--chunk-size', '64KiB', '--nodes', nodes, '--index', join(dir, 'i.json')],
    { home: from.home },
  );
  t.assert.strictEqual(run.code, 0, run.stderr);
  const id = String(run.last['id']);
  const placement = run.last['placement'] as Array<{ uuid: string; holders: string[] }>;
  return { dir, bytes, id, placement, index: join(dir, 'i.json') };
}

test("the uploader's home is deleted: another node lists the file and downloads it by name, bit-exact", async (t: TestContext) => {
  const nodes = await served(t);
  const [a, b] = nodes as [ServedNode, ServedNode, ServedNode];
  const { dir, bytes, id } = await upload(t, a, nodes, 'photo.bin');
  const listed = await until('node b to list the upload', async () => (await ls(b)).find((f) => f.id === id));
  t.assert.strictEqual(listed.name, 'photo.bin');
  t.assert.strictEqual(listed.uploader, a.uuid);
  t.assert.strictEqual(listed.uploaderName, 'node0');
  t.assert.strictEqual(listed.mine, false);
  await a.kill();
  await rm(a.home, { recursive: true, force: true });
  const out = join(dir, 'back.bin');
  const run = await cliJson(t, ['download', 'photo.bin', '--out', out], { home: b.home });
  t.assert.strictEqual(run.code, 0, run.stderr);
  t.assert.ok(bytes.equals(await readFile(out)));
  // By id too, and `index export` writes the uploader's signed index.
  const byId = await cliJson(t, ['download', id, '--out', join(dir, 'again.bin')], { home: b.home });
  t.assert.strictEqual(byId.code, 0, byId.stderr);
  const exported = join(dir, 'exported.json');
  const ex = await json(b, ['index', 'export', 'photo.bin', '--out', exported]);
  t.assert.strictEqual(ex.run.code, 0, ex.run.stderr);
  t.assert.strictEqual((await readIndexFile(exported)).createdBy, a.uuid);
});

test('rm while a holder is stopped: when it returns its copies go to its trash and the file is listed nowhere', async (t: TestContext) => {
  const nodes = await served(t);
  const [a, b, c] = nodes as [ServedNode, ServedNode, ServedNode];
  const { id, placement } = await upload(t, a, nodes, 'gone.bin');
  for (const node of nodes)
    await until(`node ${node.host} to list the upload`, async () =>
      (await ls(node)).some((f) => f.id === id),
    );
  const onC = placement.filter((p) => p.holders.includes(c.uuid)).map((p) => p.uuid);
  t.assert.ok(onC.length > 0);
  await c.kill();
  const removed = await json(a, ['rm', 'gone.bin', '--yes']);
  t.assert.strictEqual(removed.run.code, 0, removed.run.stderr);
  t.assert.strictEqual(removed.last['id'], id);
  t.assert.deepStrictEqual(await ls(a), []);
  const kept = await stat(join(a.home, 'indexes', `${id}.json`)).then(
    () => true,
    () => false,
  );
  t.assert.strictEqual(kept, false, "rm removes the uploader's kept index: a restart never enters it again");
  await until('node b to drop the file', async () => (await ls(b)).length === 0);
  for (const node of [a, b]) {
    const own = placement.filter((p) => p.holders.includes(node.uuid)).map((p) => p.uuid);
    await until(`node ${node.host} to trash its copies`, async () => {
      for (const uuid of own) if (await holds(node.home, uuid)) return false;
      return true;
    });
  }
  await c.restart();
  await until('node c to trash its copies when it returns', async () => {
    for (const uuid of onC) if (await holds(c.home, uuid)) return false;
    return true;
  });
  const trashed = await readFile(trashPath(join(c.home, 'stores', 'default'), onC[0]!)).then(
    () => true,
    () => false,
  );
  t.assert.ok(trashed, 'the copy is in the trash, not deleted at once');
  t.assert.deepStrictEqual(await ls(c), []);
  // Download by name now says the file is not there.
  const after = await json(b, ['download', 'gone.bin']);
  t.assert.deepStrictEqual([after.code, after.run.code], ['ERR_NOT_FOUND', 1]);
});

test('a catalog exchange with a frozen peer (SIGSTOP) blocks nothing else', async (t: TestContext) => {
  const nodes = await served(t);
  const [a, b, c] = nodes as [ServedNode, ServedNode, ServedNode];
  await until('every node to be connected', async () => {
    const first = await upload(t, a, [a, b], 'warmup.bin');
    return (await ls(b)).some((f) => f.id === first.id);
  });
  c.freeze();
  t.after(() => c.thaw());
  const { id } = await upload(t, a, [a, b], 'while-frozen.bin');
  const started = performance.now();
  await until('node b to list the new upload while node c is frozen', async () =>
    (await ls(b)).some((f) => f.id === id),
  );
  const seconds = (performance.now() - started) / 1000;
  // Node b pulls every second; its task with the frozen node waits out its own 10 s summary timeout
  // (then 30 s without progress), which a sync that went peer after peer would wait for first.
  t.assert.ok(seconds < 10, `node b listed it after ${seconds} s`);
  t.assert.deepStrictEqual(c.child.exitCode, null);
});

test('bad input: rm by a non-uploader, an ambiguous name, an unknown name, rm without --yes off a terminal', async (t: TestContext) => {
  const nodes = await served(t);
  const [a, b] = nodes as [ServedNode, ServedNode, ServedNode];
  const one = await upload(t, a, [a, b], 'same.bin');
  const two = await upload(t, a, [a, b], 'same.bin');
  await until('node b to list both', async () => (await ls(b)).length === 2);
  const notMine = await json(b, ['rm', 'same.bin', '--yes']);
  t.assert.deepStrictEqual([notMine.code, notMine.run.code], ['ERR_NAME_AMBIGUOUS', 2]);
  t.assert.match(String(notMine.last['message']), new RegExp(`${one.id}.*${two.id}|${two.id}.*${one.id}`));
  const byOther = await json(b, ['rm', one.id, '--yes']);
  t.assert.deepStrictEqual([byOther.code, byOther.run.code], ['ERR_NOT_UPLOADER', 1]);
  t.assert.match(String(byOther.last['message']), new RegExp(a.uuid));
  const unknown = await json(b, ['download', 'nosuch.bin']);
  t.assert.deepStrictEqual([unknown.code, unknown.run.code], ['ERR_NOT_FOUND', 1]);
  const unconfirmed = await json(a, ['rm', one.id]);
  t.assert.deepStrictEqual([unconfirmed.code, unconfirmed.run.code], ['ERR_NOT_CONFIRMED', 1]);
  const noOut = await json(a, ['index', 'export', one.id]);
  t.assert.deepStrictEqual([noOut.code, noOut.run.code], ['ERR_USAGE', 2]);
  t.assert.strictEqual((await ls(a)).length, 2);
});
