import { execFileSync } from 'node:child_process';
import { mkdir, open, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { ArozError, isArozError } from '../../src/errors.ts';
import { encodeIndex, INDEX_MAX_BYTES, readIndexFile } from '../../src/index-file/index.ts';
import { tmpDir } from '../helpers/context.ts';
import { sampleLocalIndex } from './arbitraries.ts';

test('readIndexFile reads and decodes an index file', async (t: TestContext) => {
  const path = join(await tmpDir(t), 'index.json');
  await writeFile(path, encodeIndex(sampleLocalIndex()));
  t.assert.deepStrictEqual(await readIndexFile(path), sampleLocalIndex());
});

test('readIndexFile refuses a directory with ERR_NOT_A_FILE', async (t: TestContext) => {
  const path = join(await tmpDir(t), 'index.json');
  await mkdir(path);
  await t.assert.rejects(readIndexFile(path), (err) => isArozError(err, 'ERR_NOT_A_FILE'));
});

test('readIndexFile refuses a missing file with ERR_FILE_NOT_FOUND', async (t: TestContext) => {
  const dir = await tmpDir(t);
  await t.assert.rejects(readIndexFile(join(dir, 'nope.json')), (err) =>
    isArozError(err, 'ERR_FILE_NOT_FOUND'),
  );
});

test('readIndexFile refuses a FIFO without waiting for a writer', async (t: TestContext) => {
  const path = join(await tmpDir(t), 'index.json');
  execFileSync('mkfifo', [path]);
  await t.assert.rejects(readIndexFile(path), (err) => isArozError(err, 'ERR_NOT_A_FILE'));
});

test('readIndexFile refuses endless devices such as /dev/zero and /dev/urandom', async (t: TestContext) => {
  for (const path of ['/dev/zero', '/dev/urandom']) {
    await t.assert.rejects(readIndexFile(path), (err) => isArozError(err, 'ERR_NOT_A_FILE'), path);
  }
});

test('readIndexFile refuses a file over 64 MiB without reading it (a sparse 1 TiB file)', async (t: TestContext) => {
  const dir = await tmpDir(t);
  for (const [name, size] of [
    ['one-byte-over.json', INDEX_MAX_BYTES + 1],
    ['huge.json', 2 ** 40],
  ] as const) {
    const path = join(dir, name);
    const handle = await open(path, 'w');
    await handle.truncate(size);
    await handle.close();
    await t.assert.rejects(readIndexFile(path), (err) => isArozError(err, 'ERR_INDEX_TOO_LARGE'), name);
  }
});

test('readIndexFile reads a file of exactly 64 MiB', async (t: TestContext) => {
  const path = join(await tmpDir(t), 'index.json');
  const text = encodeIndex(sampleLocalIndex());
  await writeFile(path, text + ' '.repeat(INDEX_MAX_BYTES - Buffer.byteLength(text)));
  t.assert.deepStrictEqual(await readIndexFile(path), sampleLocalIndex());
});

test('readIndexFile reads past a size of 0 as /proc reports it, and decodes what it finds', async (t: TestContext) => {
  // /proc/self/status is a regular file whose fstat size is 0 but which has content.
  await t.assert.rejects(readIndexFile('/proc/self/status'), (err) => isArozError(err, 'ERR_INDEX_INVALID'));
});

test('readIndexFile names decoding errors with their code unchanged', async (t: TestContext) => {
  const path = join(await tmpDir(t), 'index.json');
  await writeFile(path, encodeIndex(sampleLocalIndex()).replace('"version": 1', '"version": 3'));
  await t.assert.rejects(readIndexFile(path), (err) => isArozError(err, 'ERR_INDEX_VERSION'));
});

test('readIndexFile stops when its signal is aborted', async (t: TestContext) => {
  const path = join(await tmpDir(t), 'index.json');
  await writeFile(path, encodeIndex(sampleLocalIndex()));
  const reason = new ArozError('ERR_INTERRUPTED', 'Interrupted by SIGINT');
  await t.assert.rejects(readIndexFile(path, { signal: AbortSignal.abort(reason) }), (err) => err === reason);
});

test('readIndexFile stops reading when its signal is aborted after it started', async (t: TestContext) => {
  const path = join(await tmpDir(t), 'index.json');
  await writeFile(path, encodeIndex(sampleLocalIndex()));
  const controller = new AbortController();
  const reading = readIndexFile(path, { signal: controller.signal });
  const reason = new ArozError('ERR_INTERRUPTED', 'Interrupted by SIGTERM');
  controller.abort(reason); // before the file is even open: the first piece is never read
  await t.assert.rejects(reading, (err) => err === reason);
});

test('readIndexFile names the file first, then the place in it, for a truncated or invalid index', async (t: TestContext) => {
  const dir = await tmpDir(t);
  const text = encodeIndex(sampleLocalIndex());
  const truncated = join(dir, 'truncated.json');
  // Cut inside the second chunk's entry: the parser is then somewhere in "chunks[1]".
  await writeFile(truncated, text.slice(0, text.indexOf('"uuid"', text.indexOf('"i": 1')) + 10));
  const edited = join(dir, 'edited.json');
  await writeFile(edited, text.replace('"name": "', '"name": 7, "x": "'));
  const messageOf = async (path: string) => {
    const err = await readIndexFile(path).then(
      () => undefined,
      (e: unknown) => e,
    );
    t.assert.ok(isArozError(err, 'ERR_INDEX_INVALID'), String(err));
    return (err as ArozError).message;
  };
  const cut = await messageOf(truncated);
  t.assert.ok(cut.startsWith(`Index file "${truncated}" is not valid JSON: `), cut);
  t.assert.match(cut, /, in "chunks\[1\]\.uuid" \(line \d+, column \d+\)$/);
  const bad = await messageOf(edited);
  t.assert.ok(bad.startsWith(`Index file "${edited}": "file.name" `), bad);
});
