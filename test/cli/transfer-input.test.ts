/**
 * Bad input to `upload` and `download` (docs/errors.md): untrusted indexes, holders nobody knows, a
 * chunk no node has, cluster lists and shifts that cannot place two copies, no daemon at all. On an
 * in-process 3-node testnet driven by the real CLI; every JSON line checked against docs/cli-json.md.
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { controlCall } from '../../src/control/client.ts';
import { NodeHome } from '../../src/home/open.ts';
import type { IndexFile } from '../../src/index-file/index.ts';
import { signIndex } from '../../src/keys/index.ts';
import { newUuid } from '../../src/uuid.ts';
import { tmpDir } from '../helpers/context.ts';
import { testKeyPair } from '../helpers/keys.ts';
import { pairAll, startTestnet, type TestNode, testnetTemplates } from '../helpers/testnet.ts';
import { randomFile } from './transfer-cluster.ts';
import { cliJson } from './transfer-json.ts';

const templates = testnetTemplates(3);
const CHUNK = 64 * 1024;

async function uploaded(t: TestContext) {
  const homes = await templates.homes(t);
  await pairAll(homes);
  const nodes = await startTestnet(t, homes);
  const dir = await tmpDir(t);
  const file = join(dir, 'a.bin');
  const bytes = await randomFile(file, 3 * CHUNK + 7);
  const path = join(dir, 'a.index.json');
  const up = await cliJson(t, ['upload', file, '--chunk-size', '64KiB', '--index', path], {
    home: nodes[0]!.home,
  });
  t.assert.strictEqual(up.code, 0, up.stderr);
  const index = JSON.parse(await readFile(path, 'utf8')) as IndexFile;
  /** Writes a variant of the index; `sign` re-signs it with the uploader's key. */
  const variant = async (name: string, change: (copy: IndexFile) => IndexFile, sign = false) => {
    let copy = change(structuredClone(index));
    if (sign) copy = signIndex(copy, await (await NodeHome.open(nodes[0]!.home)).activeKeyPair());
    const at = join(dir, `${name}.index.json`);
    await writeFile(at, JSON.stringify(copy));
    return at;
  };
  return { nodes, dir, bytes, index, variant };
}

async function listDir(dir: string): Promise<string[]> {
  return (await readdir(dir)).sort();
}

test('download refuses an unsigned, tampered or unknown-signer index; --allow-untrusted-index takes an unsigned one', async (t: TestContext) => {
  const { nodes, dir, bytes, variant } = await uploaded(t);
  const stranger = await testKeyPair(7);
  const paths = {
    unsigned: await variant('unsigned', ({ signature: _, ...rest }) => rest),
    tampered: await variant('tampered', (i) => ({ ...i, createdAt: '2020-01-01T00:00:00Z' })),
    stranger: await variant('stranger', (i) => signIndex(i, stranger)),
  };
  const before = await listDir(dir);
  const home = nodes[1]!.home;
  const refused = await Promise.all(
    Object.entries(paths).map(([name, path]) =>
      cliJson(t, ['download', path, '--out', join(dir, `${name}.out`)], { home }),
    ),
  );
  t.assert.deepStrictEqual(
    refused.map((r) => r.errorCode),
    ['ERR_INDEX_UNTRUSTED', 'ERR_INDEX_UNTRUSTED', 'ERR_INDEX_UNTRUSTED'],
  );
  t.assert.deepStrictEqual(await listDir(dir), before); // no output, no partial file
  // Refused by the CLI before a job was made: the daemon has no failed job to show.
  t.assert.deepStrictEqual((await cliJson(t, ['jobs', 'list'], { home })).last['jobs'], []);
  const out = join(dir, 'allowed.out');
  const allowed = await cliJson(t, ['download', paths.unsigned, '--out', out, '--allow-untrusted-index'], {
    home,
  });
  t.assert.strictEqual(allowed.code, 0, allowed.stderr);
  t.assert.strictEqual(allowed.last['signer'], null);
  t.assert.ok((await readFile(out)).equals(bytes));
});

test('holders are hints: unknown holders are reported and the chunks fetched from the nodes that have them', async (t: TestContext) => {
  const { nodes, dir, bytes, index, variant } = await uploaded(t);
  const strangers = [newUuid(), newUuid()];
  const path = await variant(
    'unknown-holders',
    (i) => ({ ...i, chunks: i.chunks.map((c) => ({ ...c, holders: strangers.map((node) => ({ node })) })) }),
    true,
  );
  const out = join(dir, 'back.bin');
  const run = await cliJson(t, ['download', path, '--out', out], { home: nodes[2]!.home });
  t.assert.strictEqual(run.code, 0, run.stderr);
  t.assert.ok((await readFile(out)).equals(bytes));
  const problems = run.last['problems'] as Array<{ i: number; node: string; code: string }>;
  const reported = problems.map((p) => JSON.stringify([p.i, p.node, p.code]));
  const possible = index.chunks.flatMap((c) =>
    strangers.map((s) => JSON.stringify([c.i, s, 'ERR_PEER_NOT_FOUND'])),
  );
  // The first chunk asks both strangers first (index order). The fetch workers start apart
  // (src/transfer/stagger.ts), so a later chunk already knows they failed in this run and asks the
  // nodes the catalog names first: it need not ask them at all.
  t.assert.deepStrictEqual(reported.slice(0, 2).sort(), possible.slice(0, 2).sort());
  t.assert.deepStrictEqual(
    reported.filter((r) => !possible.includes(r)),
    [],
    'nothing but the strangers is reported',
  );
  t.assert.strictEqual(new Set(reported).size, reported.length, 'each problem once');
});

test('a chunk UUID no node has is ERR_CHUNK_MISSING naming the chunk and each holder, and leaves no file', async (t: TestContext) => {
  const { nodes, dir, index, variant } = await uploaded(t);
  const ghost = newUuid();
  const path = await variant(
    'ghost',
    (i) => ({ ...i, chunks: i.chunks.map((c) => (c.i === 1 ? { ...c, uuid: ghost } : c)) }),
    true,
  );
  const before = await listDir(dir);
  const run = await cliJson(t, ['download', path, '--out', join(dir, 'back.bin')], { home: nodes[1]!.home });
  t.assert.strictEqual(run.errorCode, 'ERR_CHUNK_MISSING');
  const message = String(run.last['message']);
  for (const value of [ghost, ...(index.chunks[1]!.holders ?? []).map((h) => h.node)]) {
    t.assert.ok(message.includes(value), `the message names ${value}`);
  }
  t.assert.deepStrictEqual(await listDir(dir), before);
});

test('--nodes with an unknown or untrusted node, or a shift that puts two copies on one node, is ERR_PLACEMENT and stores nothing', async (t: TestContext) => {
  const homes = await templates.homes(t);
  await pairAll(homes);
  const nodes = await startTestnet(t, homes);
  const [a, b, c] = nodes as [TestNode, TestNode, TestNode];
  await controlCall(a.home, 'DELETE', `/v1/peers/${c.uuid}`); // c is no longer trusted by a
  const dir = await tmpDir(t);
  const file = join(dir, 'a.bin');
  await randomFile(file, 2 * CHUNK);
  const attempts = [
    ['--nodes', [a.uuid, b.uuid, newUuid()].join(',')],
    ['--nodes', [a.uuid, b.uuid, c.uuid].join(',')],
    ['--nodes', [a.uuid, b.uuid].join(','), '--shift', '2'],
    ['--shift', '0'],
  ];
  const runs = await Promise.all(
    attempts.map((extra, k) =>
      cliJson(t, ['upload', file, '--chunk-size', '64KiB', '--index', join(dir, `${k}.json`), ...extra], {
        home: a.home,
      }),
    ),
  );
  t.assert.deepStrictEqual(
    runs.map((r) => r.errorCode),
    attempts.map(() => 'ERR_PLACEMENT'),
  );
  const stored = await Promise.all(nodes.map((n) => readdir(join(n.home, 'stores', 'default', 'chunks'))));
  t.assert.deepStrictEqual(stored.flat(), []);
  t.assert.deepStrictEqual((await listDir(dir)).sort(), ['a.bin']);
});

test('upload and download with no daemon running are ERR_DAEMON_UNREACHABLE (bad options ERR_USAGE first); unknown job ids are ERR_JOB_NOT_FOUND', async (t: TestContext) => {
  const [home] = await templates.homes(t);
  const dir = await tmpDir(t);
  const file = join(dir, 'a.bin');
  await randomFile(file, CHUNK);
  const index = new URL('../fixtures/index/valid-distributed-unsigned.json', import.meta.url).pathname;
  const where = { home: home!, cwd: dir };
  const runs = await Promise.all([
    cliJson(t, ['upload', file], where),
    cliJson(t, ['download', index, '--allow-untrusted-index'], where),
    // Usage errors come first, before the daemon is asked (exit code 2).
    cliJson(t, ['upload', file, '--shift', 'x'], where),
    cliJson(t, ['download', index, '--idle-ms', '5'], where),
  ]);
  t.assert.deepStrictEqual(
    runs.map((r) => r.errorCode),
    ['ERR_DAEMON_UNREACHABLE', 'ERR_DAEMON_UNREACHABLE', 'ERR_USAGE', 'ERR_USAGE'],
  );
  t.assert.deepStrictEqual(await listDir(dir), ['a.bin']);
  const [node] = await startTestnet(t, [home!]);
  const ghost = newUuid();
  const unknown = await Promise.all([
    cliJson(t, ['jobs', 'show', ghost], { home: node!.home }),
    cliJson(t, ['jobs', 'cancel', ghost], { home: node!.home }),
    cliJson(t, ['jobs', 'wait', '../../etc/passwd'], { home: node!.home }),
  ]);
  t.assert.deepStrictEqual(
    unknown.map((r) => r.errorCode),
    ['ERR_JOB_NOT_FOUND', 'ERR_JOB_NOT_FOUND', 'ERR_INVALID_UUID'],
  );
});

test('upload on a cluster of one is ERR_PLACEMENT saying what to do (pair another node, or --copies 1); --copies 1 then works', async (t: TestContext) => {
  const [home] = await templates.homes(t); // not paired with anyone
  const [node] = await startTestnet(t, [home!]);
  const dir = await tmpDir(t);
  const file = join(dir, 'a.bin');
  await randomFile(file, CHUNK);
  const where = { home: node!.home, cwd: dir };
  const alone = await cliJson(t, ['upload', file, '--chunk-size', '64KiB'], where);
  t.assert.strictEqual(alone.errorCode, 'ERR_PLACEMENT');
  const message = String(alone.last['message']);
  t.assert.match(message, /pair another node/);
  t.assert.match(message, /--copies 1/);
  const listed = await cliJson(t, ['upload', file, '--nodes', node!.uuid, '--copies', '2'], where);
  t.assert.strictEqual(listed.errorCode, 'ERR_PLACEMENT');
  t.assert.match(String(listed.last['message']), /--copies 1/);
  const one = await cliJson(t, ['upload', file, '--chunk-size', '64KiB', '--copies', '1'], where);
  t.assert.strictEqual(one.code, 0, one.stdout);
});

test('upload of a missing, unreadable or non-regular file is refused by the CLI before a job is made', async (t: TestContext) => {
  const [home] = await templates.homes(t);
  const [node] = await startTestnet(t, [home!]);
  const dir = await tmpDir(t);
  const where = { home: node!.home, cwd: dir };
  const runs = await Promise.all([
    cliJson(t, ['upload', 'nosuch.bin'], where),
    cliJson(t, ['upload', dir], where),
    cliJson(t, ['upload', '/dev/null'], where),
  ]);
  t.assert.deepStrictEqual(
    runs.map((r) => r.errorCode),
    // A folder is a batch (docs/catalog.md "Folders"): an empty one has nothing to upload.
    ['ERR_FILE_NOT_FOUND', 'ERR_NOT_FOUND', 'ERR_NOT_A_FILE'],
  );
  t.assert.deepStrictEqual((await cliJson(t, ['jobs', 'list'], where)).last['jobs'], []);
  t.assert.deepStrictEqual(await listDir(dir), []);
});

test('download of an index with a chunk hash edited by hand says the index disagrees with every copy (ERR_INDEX_MISMATCH), in a short line', async (t: TestContext) => {
  const { nodes, dir, variant } = await uploaded(t);
  const edit = (i: IndexFile): IndexFile => ({
    ...i,
    chunks: i.chunks.map((c) => (c.i === 1 ? { ...c, sha256: 'f'.repeat(64) } : c)),
  });
  const edited = await variant('edited', edit); // its signature no longer verifies
  const resigned = await variant('resigned', edit, true); // signed again by the uploader
  const before = await listDir(dir);
  const home = nodes[1]!.home;
  const runs = await Promise.all([
    cliJson(t, ['download', edited, '--out', join(dir, 'e.out'), '--allow-untrusted-index'], { home }),
    cliJson(t, ['download', resigned, '--out', join(dir, 'r.out')], { home }),
  ]);
  t.assert.deepStrictEqual(
    runs.map((r) => r.errorCode),
    ['ERR_INDEX_MISMATCH', 'ERR_INDEX_MISMATCH'],
  );
  for (const run of runs) {
    const message = String(run.last['message']);
    t.assert.ok(message.length < 300, `one short line: ${message}`);
    t.assert.doesNotMatch(message, /corrupted/, 'no storage node is blamed');
  }
  t.assert.deepStrictEqual(await listDir(dir), before); // no output, no partial file
});
