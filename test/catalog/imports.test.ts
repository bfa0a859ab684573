import { readdir, readFile } from 'node:fs/promises';
import { type TestContext, test } from 'node:test';

const ALLOWED = new Set(['../errors.ts', '../uuid.ts', '../index-file/index.ts', '../keys/index.ts']);

test('src/catalog imports only errors, uuid, index-file and keys of arozdfs', async (t: TestContext) => {
  const dir = new URL('../../src/catalog/', import.meta.url);
  for (const name of (await readdir(dir)).filter((n) => n.endsWith('.ts'))) {
    const text = await readFile(new URL(name, dir), 'utf8');
    for (const [, target] of text.matchAll(/from '(\.\.\/[^']+)'/g)) {
      t.assert.ok(ALLOWED.has(target ?? ''), `${name} imports ${target}`);
    }
  }
});
