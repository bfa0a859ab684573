/**
 * `check` against real daemons (in-process testnet, real TLS and disks): healthy, degraded with one
 * node stopped, unknown (not lost) with both holders of a chunk stopped or not paired, lost when both
 * answer without it, an index edited by hand (mismatch), and `--deep` finding a flipped byte that the
 * holder's own record does not show. The CLI runs as a real process against the daemon's socket.
 */
import { open, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import type { CheckReport } from '../../src/check/index.ts';
import { controlCall } from '../../src/control/client.ts';
import type { JobRecord } from '../../src/jobs/types.ts';
import { runCli } from '../helpers/cli.ts';
import { tmpDir } from '../helpers/context.ts';
import { pairAll, startTestnet, type TestNode, testnetTemplates } from '../helpers/testnet.ts';

const templates = testnetTemplates(3);
const CHUNK = 16 * 1024;

/** Three paired nodes; node 0 uploads a 4-chunk file over the list [0, 1, 2] (shift 1, 2 copies). */
async function uploaded(t: TestContext): Promise<{ nodes: TestNode[]; index: string; dir: string }> {
  const homes = await templates.homes(t);
  await pairAll(homes);
  const nodes = await startTestnet(t, homes);
  const dir = await tmpDir(t);
  const file = join(dir, 'data.bin');
  await writeFile(file, Buffer.alloc(4 * CHUNK, 7));
  const index = join(dir, 'data.bin.index.json');
  const job = (await controlCall(nodes[0]!.home, 'POST', '/v1/jobs', {
    kind: 'upload',
    params: { file, index, chunkSize: CHUNK, nodes: nodes.map((n) => n.uuid) },
  })) as JobRecord;
  const done = (await controlCall(nodes[0]!.home, 'GET', `/v1/jobs/wait/${job.id}`)) as { job: JobRecord };
  t.assert.strictEqual(done.job.state, 'done');
  return { nodes, index, dir };
}

async function check(home: string, index: string, deep = false): Promise<CheckReport> {
  const answer = (await controlCall(home, 'POST', '/v1/check', { index, deep })) as { report: CheckReport };
  return answer.report;
}

async function chunkFile(home: string, uuid: string): Promise<string> {
  const walk = async (dir: string): Promise<string | undefined> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        const found = await walk(path);
        if (found !== undefined) return found;
      } else if (entry.name === uuid) return path;
    }
    return undefined;
  };
  const found = await walk(join(home, 'stores', 'default', 'chunks'));
  if (found === undefined) throw new Error(`chunk ${uuid} not found in ${home}`);
  return found;
}

test('check reports every chunk healthy when all holders answer, and the CLI exits 0', async (t: TestContext) => {
  const { nodes, index } = await uploaded(t);
  const report = await check(nodes[0]!.home, index);
  t.assert.deepStrictEqual(report.summary, {
    chunks: 4,
    healthy: 4,
    degraded: 0,
    mismatch: 0,
    unknown: 0,
    lost: 0,
  });
  t.assert.strictEqual(report.trusted, true);
  t.assert.strictEqual(report.signer, nodes[0]!.uuid);
  t.assert.ok(report.chunks.every((c) => c.holders.every((h) => h.state === 'ok' && !h.verified)));
  const run = await runCli(['--json', 'check', index], { home: nodes[0]!.home });
  t.assert.strictEqual(run.code, 0);
  const result = run.lines().at(-1);
  t.assert.strictEqual(result?.['type'], 'result');
  t.assert.strictEqual(result?.['command'], 'check');
  t.assert.deepStrictEqual(result?.['summary'], {
    chunks: 4,
    healthy: 4,
    degraded: 0,
    mismatch: 0,
    unknown: 0,
    lost: 0,
  });
});

test('check calls chunks degraded when one holder is stopped, naming it unreachable', async (t: TestContext) => {
  const { nodes, index } = await uploaded(t);
  await nodes[2]!.daemon.close();
  const report = await check(nodes[0]!.home, index);
  // Chunk i is on list[i % 3] and list[(i + 1) % 3]: node 2 holds chunks 1, 2 (and not 0, 3).
  t.assert.deepStrictEqual(report.summary, {
    chunks: 4,
    healthy: 2,
    degraded: 2,
    mismatch: 0,
    unknown: 0,
    lost: 0,
  });
  for (const i of [1, 2]) {
    const copy = report.chunks[i]!.holders.find((h) => h.node === nodes[2]!.uuid);
    t.assert.strictEqual(copy?.state, 'unreachable');
    t.assert.strictEqual(report.chunks[i]!.health, 'degraded');
  }
  const run = await runCli(['--json', 'check', index], { home: nodes[0]!.home });
  t.assert.strictEqual(run.code, 0);
});

test('check calls a chunk unknown, not lost, when both its holders are stopped: exit 1, ERR_DATA_UNREACHABLE', async (t: TestContext) => {
  const { nodes, index } = await uploaded(t);
  await nodes[1]!.daemon.close();
  await nodes[2]!.daemon.close();
  const report = await check(nodes[0]!.home, index);
  t.assert.deepStrictEqual(report.summary, {
    chunks: 4,
    healthy: 0,
    degraded: 3,
    mismatch: 0,
    unknown: 1,
    lost: 0,
  });
  t.assert.strictEqual(report.chunks[1]!.health, 'unknown'); // on nodes 1 and 2
  const run = await runCli(['--json', 'check', index], { home: nodes[0]!.home });
  t.assert.strictEqual(run.code, 1);
  const lines = run.lines();
  t.assert.strictEqual(lines.at(-2)?.['type'], 'report');
  t.assert.deepStrictEqual(lines.at(-2)?.['summary'], report.summary);
  t.assert.strictEqual(lines.at(-1)?.['code'], 'ERR_DATA_UNREACHABLE');
});

test('check on a node not paired with the holders says unknown (ERR_PEER_NOT_FOUND per copy), never lost', async (t: TestContext) => {
  const { nodes, index } = await uploaded(t);
  for (const other of [nodes[1]!, nodes[2]!]) {
    await controlCall(nodes[0]!.home, 'DELETE', `/v1/peers/${other.uuid}`);
  }
  const report = await check(nodes[0]!.home, index);
  // Node 0 holds chunks 0 and 3 (and 2, on [2, 0]); chunk 1 is only on nodes 1 and 2.
  t.assert.deepStrictEqual(report.summary, {
    chunks: 4,
    healthy: 0,
    degraded: 3,
    mismatch: 0,
    unknown: 1,
    lost: 0,
  });
  t.assert.deepStrictEqual(
    report.chunks[1]!.holders.map((h) => [h.state, h.code]),
    [
      ['unreachable', 'ERR_PEER_NOT_FOUND'],
      ['unreachable', 'ERR_PEER_NOT_FOUND'],
    ],
  );
  const run = await runCli(['check', index], { home: nodes[0]!.home });
  t.assert.strictEqual(run.code, 1);
  t.assert.match(run.stderr, /\(ERR_DATA_UNREACHABLE\)\n$/);
  t.assert.match(run.stdout, /chunk 1 \([0-9a-f-]+\): UNKNOWN/);
  t.assert.doesNotMatch(run.stdout, /LOST/);
});

test('check exits 1 with ERR_DATA_LOST when every holder of a chunk answers without it', async (t: TestContext) => {
  const { nodes, index } = await uploaded(t);
  const { chunks } = JSON.parse(await readFile(index, 'utf8')) as { chunks: Array<{ uuid: string }> };
  for (const holder of [nodes[1]!, nodes[2]!]) {
    await holder.daemon.stores.delete(chunks[1]!.uuid, { by: nodes[0]!.uuid });
  }
  const report = await check(nodes[0]!.home, index);
  t.assert.deepStrictEqual(report.summary, {
    chunks: 4,
    healthy: 3,
    degraded: 0,
    mismatch: 0,
    unknown: 0,
    lost: 1,
  });
  t.assert.deepStrictEqual(
    report.chunks[1]!.holders.map((h) => h.state),
    ['missing', 'missing'],
  );
  const run = await runCli(['--json', 'check', index], { home: nodes[0]!.home });
  t.assert.strictEqual(run.code, 1);
  t.assert.strictEqual(run.lines().at(-1)?.['code'], 'ERR_DATA_LOST');
});

test('an index with a chunk hash edited by hand: check says the index disagrees with every copy (ERR_INDEX_MISMATCH), not lost', async (t: TestContext) => {
  const { nodes, index, dir } = await uploaded(t);
  const edited = join(dir, 'edited.json');
  const parsed = JSON.parse(await readFile(index, 'utf8')) as { chunks: Array<{ sha256: string }> };
  parsed.chunks[1]!.sha256 = 'f'.repeat(64);
  await writeFile(edited, JSON.stringify(parsed));
  for (const deep of [false, true]) {
    const report = await check(nodes[0]!.home, edited, deep);
    t.assert.strictEqual(report.trusted, false);
    t.assert.deepStrictEqual(report.summary, {
      chunks: 4,
      healthy: 3,
      degraded: 0,
      mismatch: 1,
      unknown: 0,
      lost: 0,
    });
    t.assert.deepStrictEqual(
      report.chunks[1]!.holders.map((h) => [h.state, h.code, h.verified]),
      [
        ['mismatch', 'ERR_INDEX_MISMATCH', deep],
        ['mismatch', 'ERR_INDEX_MISMATCH', deep],
      ],
    );
  }
  const run = await runCli(['--json', 'check', edited], { home: nodes[0]!.home });
  t.assert.strictEqual(run.code, 1);
  t.assert.strictEqual(run.lines().at(-1)?.['code'], 'ERR_INDEX_MISMATCH');
});

test('check --deep tells a corrupted copy (bytes differ from its record) from an index that changed', async (t: TestContext) => {
  const { nodes, index } = await uploaded(t);
  const { chunks } = JSON.parse(await readFile(index, 'utf8')) as { chunks: Array<{ uuid: string }> };
  for (const holder of [nodes[1]!, nodes[2]!]) {
    const fh = await open(await chunkFile(holder.home, chunks[1]!.uuid), 'r+');
    await fh.write(Buffer.from([8]), 0, 1, 100);
    await fh.close();
  }
  const deep = await check(nodes[0]!.home, index, true);
  t.assert.strictEqual(deep.chunks[1]!.health, 'lost');
  t.assert.deepStrictEqual(
    deep.chunks[1]!.holders.map((h) => [h.state, h.code]),
    [
      ['corrupt', 'ERR_CHUNK_HASH'],
      ['corrupt', 'ERR_CHUNK_HASH'],
    ],
  );
  t.assert.deepStrictEqual(
    nodes.map((n) => n.daemon.traffic.servedBytes),
    [0, 0, 0],
  );
});

test('check --deep finds a flipped byte that the holder record does not show', async (t: TestContext) => {
  const { nodes, index } = await uploaded(t);
  const { chunks } = JSON.parse(await readFile(index, 'utf8')) as { chunks: Array<{ uuid: string }> };
  const path = await chunkFile(nodes[1]!.home, chunks[0]!.uuid); // chunk 0 is on nodes 0 and 1
  const fh = await open(path, 'r+');
  await fh.write(Buffer.from([8]), 0, 1, 100);
  await fh.close();
  t.assert.strictEqual((await check(nodes[0]!.home, index)).summary.healthy, 4);
  const deep = await check(nodes[0]!.home, index, true);
  t.assert.deepStrictEqual(deep.summary, {
    chunks: 4,
    healthy: 3,
    degraded: 1,
    mismatch: 0,
    unknown: 0,
    lost: 0,
  });
  const copy = deep.chunks[0]!.holders.find((h) => h.node === nodes[1]!.uuid);
  t.assert.strictEqual(copy?.state, 'corrupt');
  t.assert.strictEqual(copy?.code, 'ERR_CHUNK_HASH');
  t.assert.ok(deep.chunks[1]!.holders.every((h) => h.state === 'ok' && h.verified));
  // Each holder hashed its own copies (verify tasks): no node served a chunk byte to the checker.
  t.assert.deepStrictEqual(
    nodes.map((n) => n.daemon.traffic.servedBytes),
    [0, 0, 0],
  );
  t.assert.ok(nodes[1]!.daemon.tasks.counts.verify > 0);
});

test('check still checks an index it does not trust, and says so', async (t: TestContext) => {
  const { nodes, index, dir } = await uploaded(t);
  const tampered = join(dir, 'tampered.json');
  const text = await readFile(index, 'utf8');
  const changed = text.replace(/("createdAt": ?)"[^"]*"/, '$1"2000-01-01T00:00:00.000Z"');
  t.assert.notStrictEqual(changed, text);
  await writeFile(tampered, changed);
  const report = await check(nodes[0]!.home, tampered);
  t.assert.strictEqual(report.trusted, false);
  t.assert.strictEqual(report.signer, null);
  t.assert.strictEqual(report.summary.healthy, 4);
});

test('check refuses an index made by slice (it lists no nodes)', async (t: TestContext) => {
  const { nodes, dir } = await uploaded(t);
  const sliced = await runCli(['--json', 'slice', join(dir, 'data.bin'), '--chunk-size', '16KiB']);
  t.assert.strictEqual(sliced.code, 0);
  const run = await runCli(['--json', 'check', join(dir, 'data.bin.chunks', 'index.json')], {
    home: nodes[0]!.home,
  });
  t.assert.strictEqual(run.code, 1);
  t.assert.strictEqual(run.lines().at(-1)?.['code'], 'ERR_INDEX_INVALID');
});

test('check of an index file that does not exist fails before asking any daemon', async (t: TestContext) => {
  const dir = await tmpDir(t);
  const run = await runCli(['--json', 'check', join(dir, 'nope.json')], { home: join(dir, 'home') });
  t.assert.strictEqual(run.code, 1);
  t.assert.strictEqual(run.lines().at(-1)?.['code'], 'ERR_FILE_NOT_FOUND');
});
