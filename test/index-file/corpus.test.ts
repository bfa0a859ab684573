import { readdir, readFile } from 'node:fs/promises';
import { type TestContext, test } from 'node:test';
import { isArozError } from '../../src/errors.ts';
import { decodeIndex, encodeIndex } from '../../src/index-file/index.ts';

/**
 * test/fixtures/index/: one file per case, and manifest.json mapping each file to the error code
 * decodeIndex must throw, or to "ok" for the valid examples.
 */
const dir = new URL('../fixtures/index/', import.meta.url);
const manifest = JSON.parse(await readFile(new URL('manifest.json', dir), 'utf8')) as Record<string, string>;

test('every fixture in test/fixtures/index is listed in its manifest, and every entry exists', async (t: TestContext) => {
  const files = (await readdir(dir)).filter((name) => name !== 'manifest.json').sort();
  t.assert.deepStrictEqual(files, Object.keys(manifest).sort());
});

for (const [file, expected] of Object.entries(manifest)) {
  const what = expected === 'ok' ? 'accepts' : `refuses with ${expected}`;
  test(`decodeIndex ${what}: ${file}`, async (t: TestContext) => {
    const bytes = await readFile(new URL(file, dir));
    if (expected === 'ok') {
      const index = decodeIndex(bytes);
      t.assert.deepStrictEqual(decodeIndex(encodeIndex(index)), index);
    } else {
      t.assert.throws(
        () => decodeIndex(bytes),
        (err) => isArozError(err, expected as never),
      );
    }
  });
}
