/**
 * A browser upload's staging file as its job reads it (src/web/staging.ts): reads wait for the bytes
 * they ask for; a job that looks the file up just as the request renames it into place reads the file
 * itself instead of failing; a cut request fails the job's reads.
 */
import { renameSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { LiveStaging } from '../../src/web/staging.ts';
import { tmpDir } from '../helpers/context.ts';
import { testBytes } from '../helpers/random.ts';

async function staged(t: TestContext, size: number) {
  const folder = join(await tmpDir(t), 'upload');
  await mkdir(folder);
  const part = join(folder, '.part');
  const path = join(folder, 'photo.jpg');
  const bytes = testBytes(size);
  await writeFile(part, bytes);
  return { part, path, bytes };
}

test('a read of bytes not staged yet waits for them', async (t: TestContext) => {
  const { part, path, bytes } = await staged(t, 8192);
  const staging = new LiveStaging();
  const growing = staging.begin(path, part, bytes.length);
  growing.advance(4096);
  const source = await staging.source(path);
  t.assert.ok(source !== undefined);
  const buffer = Buffer.alloc(4096);
  let landed = false;
  const read = source.fh.read(buffer, 0, 4096, 4096).then((r) => {
    landed = true;
    return r;
  });
  await source.fh.read(Buffer.alloc(4096), 0, 4096, 0); // the staged half is read at once
  t.assert.strictEqual(landed, false, 'the second half is not staged yet');
  growing.advance(4096);
  t.assert.strictEqual((await read).bytesRead, 4096);
  t.assert.ok(buffer.equals(bytes.subarray(4096)));
  await source.fh.close();
});

test('renamed into place just before the job opens it: the job reads the file itself, whole', async (t: TestContext) => {
  const { part, path, bytes } = await staged(t, 4096);
  const staging = new LiveStaging();
  const growing = staging.begin(path, part, bytes.length);
  growing.advance(bytes.length);
  // The request renames the file into place (the end of stageBody) and only then says it is over:
  // a job looking the upload up in between finds it still staging, but no .part file.
  renameSync(part, path);
  const source = staging.source(path);
  growing.finish();
  staging.end(path);
  t.assert.strictEqual(await source, undefined, 'no staging source: the job opens the file');
  t.assert.ok((await readFile(path)).equals(bytes));
});

test('a request cut just before the job opens its file fails the job with the request’s error', async (t: TestContext) => {
  const { part, path, bytes } = await staged(t, 4096);
  const staging = new LiveStaging();
  const growing = staging.begin(path, part, 8192);
  growing.advance(bytes.length);
  const cut = new Error('the request was cut');
  growing.fail(cut);
  renameSync(part, join(path, '..', 'gone')); // the caller's cleanup removes it
  const source = staging.source(path);
  await t.assert.rejects(source, (err: unknown) => err === cut);
});
