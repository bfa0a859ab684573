import { chmod, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { isArozError } from '../../src/errors.ts';
import { readSecureFile } from '../../src/keys/secure-fs.ts';

async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'arozdfs-secure-fs-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

test('readSecureFile returns exactly the file, up to its cap', async (t: TestContext) => {
  const dir = await tempDir(t);
  for (const size of [0, 1, 4096, 65_536]) {
    const path = join(dir, `f${size}`);
    const bytes = Buffer.alloc(size, 0x61 + (size % 26));
    await writeFile(path, bytes, { mode: 0o600 });
    const read = await readSecureFile(path, { maxBytes: 65_536, secret: true });
    t.assert.deepStrictEqual(read, bytes, `${size} bytes`);
  }
});

test('readSecureFile reads a file that holds more than its size said (it grew), up to the cap', async (t: TestContext) => {
  // Files in /proc report a size of 0 and hold more: the same as a file that grew after its stat.
  const path = '/proc/self/status';
  const expected = await readFile(path);
  const read = await readSecureFile(path, { maxBytes: 1024 * 1024 });
  // Some lines (memory figures) change between two reads; the first line does not.
  t.assert.strictEqual(read.toString().split('\n')[0], expected.toString().split('\n')[0]);
  t.assert.ok(read.length > 100, `${read.length} bytes`);
  await t.assert.rejects(
    readSecureFile(path, { maxBytes: 64, tooLarge: 'ERR_INDEX_TOO_LARGE' }),
    (err: unknown) => isArozError(err, 'ERR_INDEX_TOO_LARGE') && /grew past 64 bytes/.test(err.message),
  );
});

test('readSecureFile refuses a file over its cap, a symbolic link, a folder and a secret others can read', async (t: TestContext) => {
  const dir = await tempDir(t);
  const big = join(dir, 'big');
  await writeFile(big, Buffer.alloc(65), { mode: 0o600 });
  await t.assert.rejects(readSecureFile(big, { maxBytes: 64 }), (err: unknown) =>
    isArozError(err, 'ERR_KEY_INVALID'),
  );
  const link = join(dir, 'link');
  await symlink(big, link);
  await t.assert.rejects(readSecureFile(link, { maxBytes: 1024 }), (err: unknown) =>
    isArozError(err, 'ERR_INSECURE_PATH'),
  );
  await t.assert.rejects(readSecureFile(dir, { maxBytes: 1024 }), (err: unknown) =>
    isArozError(err, 'ERR_NOT_A_FILE'),
  );
  await chmod(big, 0o644);
  await t.assert.rejects(readSecureFile(big, { maxBytes: 1024, secret: true }), (err: unknown) =>
    isArozError(err, 'ERR_INSECURE_PATH'),
  );
});
