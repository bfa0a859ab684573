/**
 * `arozdfs upload` and `download` through the daemon, on an in-process 3-node testnet (real homes,
 * keys, TLS and disks on 127.0.0.2–4) driven by the real CLI as a process: placement by the default
 * list, the round trip, `--detach` with `jobs wait`, a corrupted copy, a full store. Every JSON line
 * is checked against docs/cli-json.md (transfer-json.ts).
 */
import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { promisify } from 'node:util';
import { teardown, tmpDir } from '../helpers/context.ts';
import { pairAll, startTestnet, type TestNode, testnetTemplates } from '../helpers/testnet.ts';
import { chunkFile, holds, type Placement, randomFile, sha256 } from './transfer-cluster.ts';
import { cliJson } from './transfer-json.ts';

const exec = promisify(execFile);
const templates = testnetTemplates(3);
const KiB = 1024;
const CHUNK = 64 * KiB;

async function cluster(t: TestContext): Promise<TestNode[]> {
  const homes = await templates.homes(t);
  await pairAll(homes);
  return startTestnet(t, homes);
}

/** Uploads a fresh file of `size` bytes from `from`; returns its bytes, index path and placement. */
async function upload(t: TestContext, from: TestNode, size = 5 * CHUNK + 1000, extra: string[] = []) {
  const dir = await tmpDir(t);
  const file = join(dir, 'movie.bin');
  const bytes = await randomFile(file, size);
  const index = join(dir, 'movie.index.json');
  const run = await cliJson(t, ['upload', file, '--chunk-size', '64KiB', '--index', index, ...extra], {
    home: from.home,
  });
  t.assert.strictEqual(run.code, 0, run.stderr);
  return { dir, bytes, index, result: run.last, placement: run.last['placement'] as Placement[] };
}

const byUuid = (nodes: TestNode[], uuid: string) => nodes.find((n) => n.uuid === uuid)!;

test('upload puts each chunk on 2 nodes of the sorted cluster, as its index says; a download on another node gives back the same bytes', async (t: TestContext) => {
  const nodes = await cluster(t);
  const { result, placement, index, bytes, dir } = await upload(t, nodes[0]!);
  const list = nodes.map((n) => n.uuid).sort();
  t.assert.deepStrictEqual(result['cluster'], list);
  t.assert.strictEqual(result['chunks'], 6);
  t.assert.strictEqual(result['copies'], 2);
  t.assert.strictEqual(result['index'], index);
  const written = JSON.parse(await readFile(index, 'utf8')) as { chunks: Array<{ holders: unknown[] }> };
  t.assert.deepStrictEqual(
    written.chunks.map((c) => c.holders),
    placement.map((c) => c.holders.map((node) => ({ node }))),
  );
  for (const chunk of placement) {
    // The default list spreads each chunk by its own list (test/node/placement.test.ts).
    t.assert.strictEqual(new Set(chunk.holders).size, 2);
    t.assert.ok(chunk.holders.every((node) => list.includes(node)));
    for (const node of nodes) {
      t.assert.strictEqual(await holds(node.home, chunk.uuid), chunk.holders.includes(node.uuid));
    }
  }
  t.assert.deepStrictEqual(JSON.parse(await readFile(String(result['kept']), 'utf8')), written);
  const out = join(dir, 'back.bin');
  const run = await cliJson(t, ['download', index, '--out', out], { home: nodes[1]!.home });
  t.assert.strictEqual(run.code, 0, run.stderr);
  t.assert.ok((await readFile(out)).equals(bytes));
  t.assert.strictEqual(run.last['sha256'], sha256(bytes));
  t.assert.strictEqual(run.last['signer'], nodes[0]!.uuid);
  t.assert.deepStrictEqual(run.last['problems'], []);
  t.assert.strictEqual(run.last['fetched'], 6);
  t.assert.ok(run.all.some((l) => l['type'] === 'progress'));
  const again = await cliJson(t, ['download', index, '--out', out], { home: nodes[1]!.home });
  t.assert.strictEqual(again.errorCode, 'ERR_OUTPUT_EXISTS');
});

test('--detach returns a job id at once and jobs wait, show and list follow it', async (t: TestContext) => {
  const nodes = await cluster(t);
  const home = nodes[2]!.home;
  const dir = await tmpDir(t);
  const file = join(dir, 'a.bin');
  const bytes = await randomFile(file, 3 * CHUNK);
  const index = join(dir, 'a.index.json');
  const up = await cliJson(t, ['upload', file, '--chunk-size', '64KiB', '--index', index, '--detach'], {
    home,
  });
  t.assert.strictEqual(up.last['detached'], true);
  const id = String(up.last['job']);
  const waited = await cliJson(t, ['jobs', 'wait', id], { home });
  const job = waited.last['job'] as { id: string; state: string; kind: string; result: { index: string } };
  t.assert.deepStrictEqual([job.id, job.kind, job.state], [id, 'upload', 'done']);
  t.assert.strictEqual(job.result.index, index);
  const out = join(dir, 'back.bin');
  const down = await cliJson(t, ['download', index, '--out', out, '--detach'], { home });
  const downId = String(down.last['job']);
  const [downWaited, shown, list] = await Promise.all([
    cliJson(t, ['jobs', 'wait', downId], { home }),
    cliJson(t, ['jobs', 'show', id], { home }),
    cliJson(t, ['jobs', 'list'], { home }),
  ]);
  t.assert.strictEqual((downWaited.last['job'] as { state: string }).state, 'done');
  t.assert.ok((await readFile(out)).equals(bytes));
  t.assert.deepStrictEqual(shown.last['job'], job);
  t.assert.deepStrictEqual(
    (list.last['jobs'] as Array<{ id: string }>).map((j) => j.id),
    [id, downId],
  );
});

test('a flipped byte in one stored copy is detected: the other copy is used and the bad one reported', async (t: TestContext) => {
  const nodes = await cluster(t);
  const { bytes, index, dir, placement } = await upload(t, nodes[0]!);
  const chunk = placement[1]!;
  const [bad, good] = chunk.holders as [string, string];
  const path = chunkFile(byUuid(nodes, bad).home, chunk.uuid);
  const stored = await readFile(path);
  stored[100] = (stored[100] ?? 0) ^ 0xff;
  await writeFile(path, stored);
  // The downloader holds neither copy, so it asks the first holder (the bad copy) first.
  const downloader = nodes.find((n) => !chunk.holders.includes(n.uuid))!;
  const out = join(dir, 'back.bin');
  const run = await cliJson(t, ['download', index, '--out', out], { home: downloader.home });
  t.assert.strictEqual(run.code, 0, run.stderr);
  t.assert.ok((await readFile(out)).equals(bytes));
  const problems = run.last['problems'] as Array<{ i: number; uuid: string; node: string; code: string }>;
  t.assert.deepStrictEqual(
    problems.map((p) => [p.i, p.uuid, p.node, p.code]),
    [[1, chunk.uuid, bad, 'ERR_CHUNK_HASH']],
  );
  t.assert.ok(await holds(byUuid(nodes, good).home, chunk.uuid));
});

test('a full store refuses its copies: they land on the other nodes and the index says so', async (t: TestContext) => {
  const homes = await templates.homes(t);
  await pairAll(homes);
  // A 16 KiB tmpfs as the third node's only store: not even one 64 KiB chunk fits.
  const store = join(homes[2]!, 'stores', 'default');
  await mkdir(store, { recursive: true });
  try {
    await exec('mount', ['-t', 'tmpfs', '-o', 'size=16k', 'tmpfs', store]);
  } catch (err) {
    return t.skip(`mount -t tmpfs is not permitted here (${(err as Error).message.split('\n')[0]})`);
  }
  teardown(t).defer(async () => {
    await exec('umount', [store]);
  });
  const nodes = await startTestnet(t, homes);
  const full = nodes[2]!;
  const others = nodes.filter((n) => n !== full).map((n) => n.uuid);
  const { bytes, index, dir, placement, result } = await upload(t, nodes[0]!);
  t.assert.deepStrictEqual(result['cluster'], nodes.map((n) => n.uuid).sort());
  for (const chunk of placement) {
    t.assert.deepStrictEqual([...chunk.holders].sort(), [...others].sort());
    for (const node of others) t.assert.ok(await holds(byUuid(nodes, node).home, chunk.uuid));
  }
  const out = join(dir, 'back.bin');
  const down = await cliJson(t, ['download', index, '--out', out], { home: full.home });
  t.assert.strictEqual(down.code, 0, down.stderr);
  t.assert.ok((await readFile(out)).equals(bytes));
  // With only the full node left to take second copies, the upload cannot place them.
  const two = [others[0]!, full.uuid].join(',');
  const file = join(dir, 'b.bin');
  await randomFile(file, 2 * CHUNK);
  const refused = await cliJson(
    t,
    ['upload', file, '--chunk-size', '64KiB', '--nodes', two, '--index', join(dir, 'b.index.json')],
    { home: nodes[0]!.home },
  );
  t.assert.strictEqual(refused.errorCode, 'ERR_NOT_ENOUGH_NODES');
});
