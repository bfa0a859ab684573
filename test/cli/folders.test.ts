/**
 * Folders and many small files with real `arozdfs serve` processes on 127.0.0.2–4 (docs/catalog.md
 * "Folders", docs/transfer.md "Batches"): a folder of 200 files with nested folders, an empty file,
 * a space and a non-ASCII name, a symlink (skipped) and an empty folder (skipped) is uploaded as one
 * batch, listed as a tree, downloaded on another node and compared with `diff -r`, then deleted with
 * `rm --recursive`; a batch with a FIFO reports that file and stores the rest; a batch cancelled
 * half-way leaves no copy that no file of the catalog references once the orphan walk ran.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, readdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { controlCall } from '../../src/control/client.ts';
import { NodeHome } from '../../src/home/open.ts';
import { runCli } from '../helpers/cli.ts';
import { tmpDir } from '../helpers/context.ts';
import { testBytes, testInt } from '../helpers/random.ts';
import { pairAll, testnetTemplates } from '../helpers/testnet.ts';
import { until } from '../helpers/until.ts';
import { type ServedNode, spawnCli, startServed } from './transfer-cluster.ts';
import { cliJson } from './transfer-json.ts';

const templates = testnetTemplates(3);

async function served(t: TestContext, config: Record<string, number> = {}): Promise<ServedNode[]> {
  const homes = await templates.homes(t);
  await pairAll(homes);
  for (const home of homes) {
    await (await NodeHome.open(home)).updateConfig({ catalogSyncSeconds: 1, ...config });
  }
  return startServed(t, homes);
}

async function json(node: ServedNode, args: string[]) {
  const run = await runCli(['--json', ...args], { home: node.home, timeoutMs: 120_000 });
  const last = run.lines().at(-1) ?? {};
  return { run, last, code: last['type'] === 'error' ? String(last['code']) : undefined };
}

interface BatchFile {
  name: string;
  state: string;
  id?: string;
  error?: { code: string };
}

/** photos/: 200 files in nested folders, plus the odd names, a symlink and an empty folder. */
async function photoFolder(root: string): Promise<string> {
  const photos = join(root, 'photos');
  let made = 0;
  for (const year of ['2023', '2024']) {
    for (const month of ['01', '02', '03', '04']) {
      const dir = join(photos, year, month);
      await mkdir(dir, { recursive: true });
      for (let k = 0; k < 24; k++) {
        await writeFile(join(dir, `img_${String(k).padStart(4, '0')}.jpg`), testBytes(testInt(1, 24 * 1024)));
        made++;
      }
    }
  }
  await writeFile(join(photos, 'empty.txt'), '');
  await writeFile(join(photos, '2024', 'my holiday.jpg'), testBytes(5000));
  await writeFile(join(photos, '2024', 'Ĳsselmeer 夏.jpg'), testBytes(7000));
  await writeFile(join(photos, '2024', 'Case.jpg'), testBytes(100));
  await writeFile(join(photos, '2024', 'case.jpg'), testBytes(200));
  await writeFile(join(photos, 'top.jpg'), testBytes(300));
  made += 6;
  for (let k = 0; made < 200; k++, made++) await writeFile(join(photos, `extra_${k}.jpg`), testBytes(10));
  await symlink(join(photos, 'top.jpg'), join(photos, 'link.jpg'));
  await mkdir(join(photos, 'nothing-here'));
  return photos;
}

test('a folder of 200 files is uploaded as one batch, listed as a tree, downloaded on another node (diff -r) and removed with rm --recursive', async (t: TestContext) => {
  const nodes = await served(t);
  const [a, b] = nodes as [ServedNode, ServedNode, ServedNode];
  const dir = await tmpDir(t);
  const photos = await photoFolder(dir);

  const up = await cliJson(t, ['upload', photos, '--chunk-size', '16KiB'], { home: a.home });
  t.assert.strictEqual(up.code, 0, up.stderr);
  t.assert.strictEqual(up.last['stored'], 200);
  t.assert.strictEqual(up.last['failed'], 0);
  const files = up.last['files'] as BatchFile[];
  const names = files.map((f) => f.name);
  t.assert.ok(names.includes('photos/2024/03/img_0007.jpg'));
  t.assert.ok(names.includes('photos/2024/my holiday.jpg'));
  t.assert.ok(names.includes('photos/2024/Ĳsselmeer 夏.jpg'));
  t.assert.ok(names.includes('photos/2024/Case.jpg') && names.includes('photos/2024/case.jpg'));
  t.assert.ok(names.includes('photos/empty.txt'));
  const skipped = up.last['skipped'] as Array<{ name: string; reason: string }>;
  t.assert.deepStrictEqual(
    skipped.map((s) => [s.name, s.reason]),
    [
      ['photos/link.jpg', 'symlink'],
      ['photos/nothing-here', 'empty-folder'],
    ],
  );
  const progress = up.all.filter((l) => l['type'] === 'progress');
  t.assert.deepStrictEqual([progress.at(-1)?.['filesDone'], progress.at(-1)?.['files']], [200, 200]);
  // One job for the batch. A list shows its files as a summary (count, first names); `jobs show`
  // has every file, in its params and its result.
  const jobs = await cliJson(t, ['jobs', 'list'], { home: a.home });
  const listed = jobs.last['jobs'] as Array<{
    id: string;
    params: { files: unknown };
    result: { files: unknown; stored: number };
  }>;
  t.assert.strictEqual(listed.length, 1);
  const summary = { count: 200, first: files.slice(0, 3).map((f) => f.name) };
  t.assert.deepStrictEqual(listed[0]?.params.files, summary);
  t.assert.deepStrictEqual(listed[0]?.result.files, summary);
  t.assert.strictEqual(listed[0]?.result.stored, 200);
  const shown = await cliJson(t, ['jobs', 'show', listed[0]?.id ?? ''], { home: a.home });
  const job = shown.last['job'] as {
    params: { files: Array<{ name: string }> };
    result: { files: unknown[] };
  };
  t.assert.strictEqual(job.params.files.length, 200);
  t.assert.strictEqual(job.result.files.length, 200);

  // Node b lists the tree once its catalog has every file.
  const top = await until('node b to list the 200 files', async () => {
    const ls = await json(b, ['ls']);
    const folders = (ls.last['folders'] ?? []) as Array<{ name: string; files: number }>;
    return folders.find((f) => f.name === 'photos' && f.files === 200) !== undefined ? ls.last : undefined;
  });
  t.assert.deepStrictEqual(top['files'], []);
  const y2024 = (await json(b, ['ls', 'photos/2024'])).last;
  t.assert.deepStrictEqual((y2024['folders'] as Array<{ name: string }>).map((f) => f.name).sort(), [
    '01',
    '02',
    '03',
    '04',
  ]);
  t.assert.strictEqual((y2024['files'] as unknown[]).length, 4);
  t.assert.strictEqual(
    ((await json(b, ['ls', '--recursive', 'photos/2023'])).last['files'] as unknown[]).length,
    96,
  );
  t.assert.strictEqual((await json(b, ['ls', 'photos/nope'])).code, 'ERR_NOT_FOUND');

  // Downloaded on node b: the same tree, bit for bit (the symlink and the empty folder were not stored).
  const back = join(await tmpDir(t), 'photos');
  const down = await cliJson(t, ['download', 'photos', '--out', back], { home: b.home });
  t.assert.strictEqual(down.code, 0, down.stderr);
  t.assert.strictEqual(down.last['downloaded'], 200);
  execFileSync('diff', ['-r', '-x', 'link.jpg', '-x', 'nothing-here', photos, back]);
  // Again: every output exists.
  t.assert.strictEqual((await json(b, ['download', 'photos', '--out', back])).code, 'ERR_OUTPUT_EXISTS');

  // rm: a folder needs --recursive; node b may not delete a's files; a deletes them all.
  t.assert.strictEqual((await json(a, ['rm', 'photos/2024', '--yes'])).code, 'ERR_IS_A_FOLDER');
  const refused = await json(b, ['rm', 'photos/2024', '--recursive', '--yes']);
  t.assert.strictEqual(refused.run.code, 1);
  t.assert.strictEqual((refused.last['refused'] as unknown[]).length, 100);
  const removed = await json(a, ['rm', 'photos/2024', '--recursive', '--yes']);
  t.assert.strictEqual(removed.run.code, 0, removed.run.stderr);
  t.assert.strictEqual(removed.last['deleted'], 100);
  t.assert.strictEqual((await json(a, ['ls', 'photos/2024'])).code, 'ERR_NOT_FOUND');
  t.assert.strictEqual(((await json(a, ['ls', '--recursive'])).last['files'] as unknown[]).length, 100);
});

test('a batch with a FIFO reports that file, stores the others, and exits 1 after its result', async (t: TestContext) => {
  const nodes = await served(t);
  const [a] = nodes as [ServedNode, ServedNode, ServedNode];
  const dir = join(await tmpDir(t), 'mixed');
  await mkdir(dir);
  for (let k = 0; k < 5; k++) await writeFile(join(dir, `f${k}.bin`), testBytes(1000 + k));
  execFileSync('mkfifo', [join(dir, 'pipe')]);
  const lone = join(await tmpDir(t), 'lone.bin');
  await writeFile(lone, testBytes(10));

  const up = await cliJson(t, ['upload', dir, lone], { home: a.home });
  t.assert.strictEqual(up.code, 1, up.stderr);
  t.assert.strictEqual(up.last['type'], 'result');
  t.assert.strictEqual(up.last['stored'], 6);
  t.assert.strictEqual(up.last['failed'], 1);
  const failed = (up.last['files'] as BatchFile[]).filter((f) => f.state === 'failed');
  t.assert.deepStrictEqual(
    failed.map((f) => [f.name, f.error?.code]),
    [['mixed/pipe', 'ERR_NOT_A_FILE']],
  );
  t.assert.ok((up.last['files'] as BatchFile[]).some((f) => f.name === 'lone.bin' && f.state === 'stored'));

  // Two paths with the same name: refused before any job.
  const twice = await json(a, ['upload', lone, lone]);
  t.assert.strictEqual(twice.code, 'ERR_USAGE');
});

/** Every chunk file in a node's default store (not its trash). */
async function storedChunks(home: string): Promise<string[]> {
  const root = join(home, 'stores', 'default');
  const found: string[] = [];
  const walk = async (dir: string) => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      if (entry.isDirectory()) {
        if (!entry.name.startsWith('.') && entry.name !== 'trash' && entry.name !== 'quarantine')
          await walk(join(dir, entry.name));
      } else if (/^[0-9a-f-]{36}$/.test(entry.name)) found.push(entry.name);
    }
  };
  await walk(root);
  return found;
}

test('a batch cancelled half-way keeps its whole files and leaves no copy that no file references', async (t: TestContext) => {
  const nodes = await served(t, { orphanAgeSeconds: 0, repairIntervalSeconds: 0 });
  const [a, b, c] = nodes as [ServedNode, ServedNode, ServedNode];
  const dir = join(await tmpDir(t), 'batch');
  await mkdir(dir);
  // With --nodes a,b,c a file's chunk 0 goes to a and b, chunk 1 to b and c: while c is frozen the
  // one-chunk files (a-*) are stored and the two-chunk files (b-*) wait on c.
  for (let k = 0; k < 12; k++) await writeFile(join(dir, `a-${String(k).padStart(2, '0')}`), testBytes(4096));
  for (let k = 0; k < 12; k++) await writeFile(join(dir, `b-${String(k).padStart(2, '0')}`), testBytes(6000));
  c.freeze();
  const run = spawnCli(
    ['--json', 'upload', dir, '--chunk-size', '4KiB', '--nodes', [a, b, c].map((n) => n.uuid).join(',')],
    a.home,
  );
  const job = await until('the batch to store the one-chunk files', async () => {
    const { jobs } = (await controlCall(a.home, 'GET', '/v1/jobs')) as {
      jobs: Array<{ id: string; progress?: { filesDone?: number } }>;
    };
    return (jobs[0]?.progress?.filesDone ?? 0) >= 12 ? jobs[0] : undefined;
  });
  // Cancelled: the copies the two-chunk files stored on a and b are deleted (those on frozen c wait
  // for c); then c dies without ever having read them, and comes back.
  const cancelled = controlCall(a.home, 'POST', `/v1/jobs/cancel/${job.id}`);
  for (const node of [a, b]) {
    await until(`node ${node.host} to hold only the one-chunk files' copies`, async () =>
      (await storedChunks(node.home)).length === 12 ? true : undefined,
    );
  }
  await c.kill();
  t.assert.strictEqual(((await cancelled) as { state: string }).state, 'cancelled');
  const ended = await run.done;
  t.assert.strictEqual(ended.lines().at(-1)?.['code'], 'ERR_INTERRUPTED', ended.stdout + ended.stderr);
  await c.restart();

  const listed = ((await json(a, ['ls', '--recursive'])).last['files'] as Array<{ name: string }>).map(
    (f) => f.name,
  );
  const ones = Array.from({ length: 12 }, (_, k) => `batch/a-${String(k).padStart(2, '0')}`);
  t.assert.deepStrictEqual(listed.sort(), ones);
  const referenced = new Set<string>();
  for (const name of ones) {
    const { index } = (await controlCall(a.home, 'POST', '/v1/files/index', { ref: name })) as {
      index: { chunks: Array<{ uuid: string }> };
    };
    for (const chunk of index.chunks) referenced.add(chunk.uuid);
  }
  // After every node's repair pass (its orphan walk, orphanAgeSeconds 0), no copy is left that no
  // file of the catalog references.
  for (const node of nodes) {
    await until(`node ${node.host} to know the 12 files`, async () => {
      const ls = await json(node, ['ls', '--recursive']);
      return (ls.last['files'] as unknown[] | undefined)?.length === 12;
    });
    const repair = await json(node, ['repair']);
    t.assert.strictEqual(repair.run.code, 0, repair.run.stdout + repair.run.stderr);
    const left = (await storedChunks(node.home)).filter((uuid) => !referenced.has(uuid));
    t.assert.deepStrictEqual(left, [], `node ${node.host} keeps copies no file references`);
  }
});

test('a batch cut by the death of its daemon resumes at the next start and stores every file once', async (t: TestContext) => {
  const nodes = await served(t);
  const [a, b, c] = nodes as [ServedNode, ServedNode, ServedNode];
  const dir = join(await tmpDir(t), 'batch');
  await mkdir(dir);
  // As above: while c is frozen the one-chunk files are stored and the two-chunk files wait on c.
  for (let k = 0; k < 8; k++) await writeFile(join(dir, `a-${k}`), testBytes(4096));
  for (let k = 0; k < 8; k++) await writeFile(join(dir, `b-${k}`), testBytes(6000));
  c.freeze();
  const run = spawnCli(
    ['--json', 'upload', dir, '--chunk-size', '4KiB', '--nodes', [a, b, c].map((n) => n.uuid).join(',')],
    a.home,
  );
  const job = await until('the batch to store the one-chunk files', async () => {
    const { jobs } = (await controlCall(a.home, 'GET', '/v1/jobs')) as {
      jobs: Array<{ id: string; progress?: { filesDone?: number } }>;
    };
    return (jobs[0]?.progress?.filesDone ?? 0) >= 8 ? jobs[0] : undefined;
  });
  await a.kill();
  t.assert.strictEqual((await run.done).lines().at(-1)?.['code'], 'ERR_DAEMON_UNREACHABLE');
  c.thaw();
  await a.restart();
  const { job: end } = (await controlCall(a.home, 'GET', `/v1/jobs/wait/${job.id}`, undefined, {
    timeoutMs: 120_000,
  })) as { job: { state: string; runs: number; result?: { stored: number; failed: number } } };
  t.assert.strictEqual(end.state, 'done');
  t.assert.strictEqual(end.runs, 2);
  t.assert.deepStrictEqual([end.result?.stored, end.result?.failed], [16, 0]);
  const names = ((await json(a, ['ls', '--recursive'])).last['files'] as Array<{ name: string }>).map(
    (f) => f.name,
  );
  t.assert.strictEqual(names.length, 16, names.join(', '));
  t.assert.strictEqual(new Set(names).size, 16);
});
