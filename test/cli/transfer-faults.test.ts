/**
 * Faults of real processes during transfers (docs/transfer.md): three `arozdfs serve` processes on
 * 127.0.0.2–4, a file of several 64 KiB chunks uploaded with the default shift, then a node killed
 * (SIGKILL), frozen (SIGSTOP: its connections hang), or the downloading daemon itself killed
 * mid-download and started again. Every CLI line is checked against docs/cli-json.md.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { controlCall } from '../../src/control/client.ts';
import { isFinished, type JobRecord } from '../../src/jobs/index.ts';
import { tmpDir } from '../helpers/context.ts';
import { pairAll, testnetTemplates } from '../helpers/testnet.ts';
import { until } from '../helpers/until.ts';
import {
  holds,
  type Placement,
  randomFile,
  type ServedNode,
  spawnCli,
  startServed,
} from './transfer-cluster.ts';
import { checkedRun, cliJson } from './transfer-json.ts';

const templates = testnetTemplates(3);
const CHUNK = 64 * 1024;

async function served(t: TestContext): Promise<ServedNode[]> {
  const homes = await templates.homes(t);
  await pairAll(homes);
  return startServed(t, homes);
}

/** Uploads 6 chunks from `from`; `extra` are more upload options. */
/**
 * These tests are about faults, not placement: `--nodes` with the sorted list makes chunk i, pass p
 * land on `list[(i + p) mod 3]` whatever the file id, so every node is asked first for some chunks.
 * (With the default list the copies are spread by file id, and a frozen node may never be asked.)
 */
function sortedNodes(nodes: readonly ServedNode[]): string[] {
  return [
    '--nodes',
    nodes
      .map((n) => n.uuid)
      .sort()
      .join(','),
  ];
}

async function upload(t: TestContext, from: ServedNode, extra: string[] = []) {
  const dir = await tmpDir(t);
  const file = join(dir, 'movie.bin');
  const bytes = await randomFile(file, 5 * CHUNK + 999);
  const index = join(dir, 'movie.index.json');
  const run = await cliJson(t, ['upload', file, '--chunk-size', '64KiB', '--index', index, ...extra], {
    home: from.home,
  });
  t.assert.strictEqual(run.code, 0, run.stderr);
  return { dir, bytes, index, run };
}

/** Polls the daemon until job `id` satisfies `ready`; a job that ends first fails the test. */
async function jobUntil(home: string, id: string, ready: (job: JobRecord) => boolean): Promise<JobRecord> {
  const job = await until(`job ${id} to be where the test acts`, async () => {
    const record = (await controlCall(home, 'GET', `/v1/jobs/${id}`)) as JobRecord;
    return (ready(record) || isFinished(record.state)) && record;
  });
  if (!ready(job)) throw new Error(`Job ${id} ended before the test could act: ${JSON.stringify(job)}`);
  return job;
}

const runningWithChunks = (job: JobRecord) => job.state === 'running' && (job.progress?.chunksDone ?? 0) >= 1;

test('kill -9 of any one node: a download on another node is byte-identical', async (t: TestContext) => {
  const nodes = await served(t);
  const { dir, bytes, index } = await upload(t, nodes[0]!, sortedNodes(nodes));
  for (const [k, victim] of nodes.entries()) {
    await victim.kill();
    const out = join(dir, `back-${k}.bin`);
    const on = nodes[(k + 1) % nodes.length]!;
    const run = await cliJson(t, ['download', index, '--out', out], { home: on.home });
    t.assert.strictEqual(run.code, 0, run.stderr);
    t.assert.ok((await readFile(out)).equals(bytes));
    const problems = run.last['problems'] as Array<{ node: string; code: string }>;
    t.assert.ok(problems.length > 0 && problems.every((p) => p.node === victim.uuid));
    if (k < nodes.length - 1) await victim.restart();
  }
});

test('a frozen node (SIGSTOP) costs one idle timeout: the download completes from the other copies, a new upload leaves it out', async (t: TestContext) => {
  const [a, b, c] = (await served(t)) as [ServedNode, ServedNode, ServedNode];
  const { dir, bytes, index } = await upload(t, a, sortedNodes([a, b, c])); // a now holds live connections to b and c
  c.freeze();
  const out = join(dir, 'back.bin');
  const run = await cliJson(t, ['download', index, '--out', out, '--idle-ms', '2000'], { home: a.home });
  t.assert.strictEqual(run.code, 0, run.stderr);
  t.assert.ok((await readFile(out)).equals(bytes));
  const problems = run.last['problems'] as Array<{ node: string; code: string }>;
  t.assert.ok(problems.length > 0);
  t.assert.deepStrictEqual(
    problems.filter((p) => p.node !== c.uuid || p.code !== 'ERR_TIMEOUT'),
    [],
    'only the frozen node failed, by a timeout',
  );
  // A new upload's default cluster list leaves the frozen node out, though a holds a session to it.
  const again = await upload(t, a, ['--idle-ms', '1000']);
  t.assert.deepStrictEqual(again.run.last['cluster'], [a.uuid, b.uuid].sort());
});

test('a daemon killed mid-download: its follower ends with ERR_DAEMON_UNREACHABLE and the job resumes at the next start, fetching only what is missing', async (t: TestContext) => {
  const [a, b, c] = (await served(t)) as [ServedNode, ServedNode, ServedNode];
  const { dir, bytes, index } = await upload(t, a, sortedNodes([a, b, c]));
  b.freeze(); // the chunks b is asked for first hang: the job stays running
  const out = join(dir, 'back.bin');
  const detached = await cliJson(t, ['download', index, '--out', out, '--detach'], { home: a.home });
  const id = String(detached.last['job']);
  const cut = await jobUntil(a.home, id, runningWithChunks);
  const args = ['--json', 'jobs', 'wait', id];
  const follower = spawnCli(args, a.home);
  await follower.started; // following, with a progress line: then its daemon dies under it
  await a.kill();
  const orphan = checkedRun(t, args, await follower.done);
  t.assert.strictEqual(orphan.errorCode, 'ERR_DAEMON_UNREACHABLE');
  b.thaw();
  await a.restart();
  const waited = await cliJson(t, ['jobs', 'wait', id], { home: a.home });
  const job = waited.last['job'] as JobRecord & { result: { fetched: number; chunks: number } };
  t.assert.strictEqual(job.state, 'done');
  t.assert.strictEqual(job.runs, 2);
  t.assert.strictEqual(job.result.chunks, 6);
  t.assert.ok(job.result.fetched <= 6 - (cut.progress?.chunksDone ?? 0), 'verified chunks were kept');
  t.assert.ok((await readFile(out)).equals(bytes));
  t.assert.deepStrictEqual((await readdir(dir)).sort(), ['back.bin', 'movie.bin', 'movie.index.json']);
});

test('cancel of a running download stops it: jobs wait says so and no partial file is left', async (t: TestContext) => {
  const [a, b, c] = (await served(t)) as [ServedNode, ServedNode, ServedNode];
  const { dir, index } = await upload(t, a, sortedNodes([a, b, c]));
  b.freeze();
  const out = join(dir, 'back.bin');
  const detached = await cliJson(t, ['download', index, '--out', out, '--detach'], { home: a.home });
  const id = String(detached.last['job']);
  await jobUntil(a.home, id, runningWithChunks);
  const cancelled = await cliJson(t, ['jobs', 'cancel', id], { home: a.home });
  t.assert.strictEqual((cancelled.last['job'] as JobRecord).state, 'cancelled');
  const waited = await cliJson(t, ['jobs', 'wait', id], { home: a.home });
  t.assert.strictEqual(waited.errorCode, 'ERR_INTERRUPTED');
  t.assert.deepStrictEqual((await readdir(dir)).sort(), ['movie.bin', 'movie.index.json']);
});

test('a target node killed during an upload: its copies land on the next node and the index says so', async (t: TestContext) => {
  const nodes = await served(t);
  const [a, , c] = nodes as [ServedNode, ServedNode, ServedNode];
  const list = nodes.map((n) => n.uuid).sort();
  c.freeze(); // the upload hangs on c until c dies
  const { dir, bytes, index, run } = await upload(t, a, ['--nodes', list.join(','), '--detach']);
  const id = String(run.last['job']);
  await jobUntil(a.home, id, (job) => job.state === 'running');
  await c.kill();
  const waited = await cliJson(t, ['jobs', 'wait', id], { home: a.home });
  const job = waited.last['job'] as JobRecord & { result: { placement: Placement[] } };
  t.assert.strictEqual(job.state, 'done');
  const written = JSON.parse(await readFile(index, 'utf8')) as { chunks: Array<{ holders: unknown[] }> };
  for (const chunk of job.result.placement) {
    const planned = [list[chunk.i % 3]!, list[(chunk.i + 1) % 3]!];
    // A pass planned on c goes to the next node along the list that the other pass is not planned on.
    const expected = planned.map((node) =>
      node === c.uuid ? list.find((n) => !planned.includes(n))! : node,
    );
    t.assert.deepStrictEqual(chunk.holders, expected);
    t.assert.deepStrictEqual(
      written.chunks[chunk.i]!.holders,
      expected.map((node) => ({ node })),
    );
    for (const node of nodes) {
      t.assert.strictEqual(await holds(node.home, chunk.uuid), expected.includes(node.uuid));
    }
  }
  const out = join(dir, 'back.bin');
  const down = await cliJson(t, ['download', index, '--out', out], { home: nodes[1]!.home });
  t.assert.strictEqual(down.code, 0, down.stderr);
  t.assert.ok((await readFile(out)).equals(bytes));
});
