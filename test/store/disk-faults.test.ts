/**
 * DiskStore under faults: a real full filesystem (a 1 MiB tmpfs, which needs root: mount), a disk
 * filled behind the store's back, and a writer process killed mid-put.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { type TestContext, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { DiskStore } from '../../src/store/index.ts';
import { newUuid } from '../../src/uuid.ts';
import { teardown, tmpDir } from '../helpers/context.ts';
import { testInt } from '../helpers/random.ts';
import { data, KiB, listTree, put, readAll, rejectsWith, sha256, UPLOADER } from './helpers.ts';

const run = promisify(execFile);
const NODE = newUuid();
const CHILD = fileURLToPath(new URL('./crash-put.ts', import.meta.url));

/** Mounts a tmpfs of `size` on a fresh folder; undefined (with the reason) where mount is not allowed. */
async function smallFilesystem(t: TestContext, size: string): Promise<{ dir?: string; why?: string }> {
  const dir = await tmpDir(t);
  try {
    await run('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir]);
  } catch (err) {
    return { why: `mount -t tmpfs is not permitted here (${(err as Error).message.split('\n')[0]})` };
  }
  teardown(t).defer(async () => {
    await run('umount', [dir]);
  });
  return { dir };
}

test('on a full 1 MiB filesystem a chunk that does not fit is refused before any byte', async (t: TestContext) => {
  const { dir, why } = await smallFilesystem(t, '1m');
  if (dir === undefined) return t.skip(why);
  const store = await DiskStore.create(join(dir, 'store'), NODE);
  teardown(t).defer(() => store.close());
  const status = await store.status();
  t.assert.ok(status.capacity <= 1024 * KiB && status.free < 1024 * KiB, `capacity ${status.capacity}`);
  t.assert.strictEqual(await put(store, newUuid(), data(512 * KiB)), 'created');
  await rejectsWith(
    t,
    store.beginPut(newUuid(), { size: 512 * KiB, meta: { uploader: UPLOADER } }),
    'ERR_NO_SPACE',
  );
  const { free } = await store.status();
  t.assert.ok(free > 0 && free < 512 * KiB, `free ${free}`);
  t.assert.strictEqual(await put(store, newUuid(), data(free)), 'created', 'what status calls free does fit');
});

test("a disk filled behind the store's back mid-put gives ERR_NO_SPACE and leaves no temp file", async (t: TestContext) => {
  const { dir, why } = await smallFilesystem(t, '1m');
  if (dir === undefined) return t.skip(why);
  const store = await DiskStore.create(join(dir, 'store'), NODE);
  teardown(t).defer(() => store.close());
  const bytes = data(256 * KiB);
  const writer = await store.beginPut(newUuid(), { size: bytes.length, meta: { uploader: UPLOADER } });
  await writer.write(bytes.subarray(0, 16 * KiB));
  const filler = await open(join(dir, 'filler'), 'w');
  try {
    const block = Buffer.alloc(64 * KiB);
    for (;;) {
      const { bytesWritten } = await filler.write(block);
      if (bytesWritten < block.length) break;
    }
  } catch (err) {
    t.assert.strictEqual((err as NodeJS.ErrnoException).code, 'ENOSPC');
  } finally {
    await filler.close();
  }
  await rejectsWith(t, writer.write(bytes.subarray(16 * KiB)), 'ERR_NO_SPACE');
  t.assert.deepStrictEqual(
    (await listTree(join(dir, 'store'))).filter((f) => f.endsWith('.arozdfs-tmp')),
    [],
    'the temp file was removed',
  );
  await rm(join(dir, 'filler'));
  t.assert.strictEqual(await put(store, newUuid(), bytes), 'created', 'space freed, puts work again');
});

function startChild(
  t: TestContext,
  dir: string,
  mode: 'half' | 'loop',
): { child: ChildProcess; lines: AsyncIterator<string> } {
  const child = spawn(process.execPath, [CHILD, dir, NODE, mode], { stdio: ['ignore', 'pipe', 'inherit'] });
  teardown(t).defer(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await new Promise((resolve) => child.once('exit', resolve));
    }
  });
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream })[Symbol.asyncIterator]();
  return { child, lines };
}

async function kill(child: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

test('a writer killed mid-put leaves no chunk; the next open removes its temp file', async (t: TestContext) => {
  const dir = join(await tmpDir(t), 'store');
  await (await DiskStore.create(dir, NODE)).close();
  const { child, lines } = startChild(t, dir, 'half');
  const line = (await lines.next()).value as string;
  const uuid = line.split(' ')[1] ?? '';
  t.assert.strictEqual(line, `half ${uuid}`);
  t.assert.strictEqual((await listTree(dir)).filter((f) => f.endsWith('.arozdfs-tmp')).length, 1);
  await kill(child);
  const store = await DiskStore.open(dir, NODE);
  teardown(t).defer(() => store.close());
  t.assert.strictEqual(await store.has(uuid), false);
  t.assert.deepStrictEqual(
    (await listTree(dir)).filter((f) => !f.endsWith('/')),
    ['.arozdfs-store'],
  );
  t.assert.strictEqual((await store.status()).used, 0);
});

test('a writer killed at any moment leaves every chunk absent or whole', async (t: TestContext) => {
  const dir = join(await tmpDir(t), 'store');
  await (await DiskStore.create(dir, NODE)).close();
  const { child, lines } = startChild(t, dir, 'loop');
  const created: string[] = [];
  const wanted = 5 + testInt(0, 10);
  while (created.length < wanted) created.push(((await lines.next()).value as string).split(' ')[1] ?? '');
  await kill(child);
  const store = await DiskStore.open(dir, NODE);
  teardown(t).defer(() => store.close());
  const files = (await listTree(dir)).filter((f) => !f.endsWith('/'));
  t.assert.deepStrictEqual(
    files.filter((f) => f.includes('.arozdfs-tmp')),
    [],
    'temp files removed',
  );
  const chunkFiles = files.filter((f) => /^chunks\/..\/..\/[0-9a-f-]{36}$/.test(f));
  t.assert.strictEqual((await store.status()).chunks, chunkFiles.length);
  for (const uuid of created) t.assert.strictEqual(await store.has(uuid), true, `reported ${uuid} is there`);
  for (const path of chunkFiles) {
    const uuid = path.slice(-36);
    const info = await store.head(uuid);
    const bytes = await readAll(await store.get(uuid));
    t.assert.strictEqual(sha256(bytes), info?.sha256, `${uuid} is whole`);
    t.assert.ok((await readFile(join(dir, path))).equals(bytes));
  }
});
