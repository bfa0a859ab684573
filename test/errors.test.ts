import { readFile } from 'node:fs/promises';
import { type TestContext, test } from 'node:test';
import { ArozError, ERROR_CODES, exitCodeOf } from '../src/errors.ts';

test('docs/errors.md lists exactly the codes of src/errors.ts, with their statuses', async (t: TestContext) => {
  const doc = await readFile(new URL('../docs/errors.md', import.meta.url), 'utf8');
  const rows = [...doc.matchAll(/^\|\s*`(ERR_[A-Z0-9_]+)`\s*\|\s*(\d{3})\s*\|/gm)].map((m) => [
    m[1],
    Number(m[2]),
  ]);
  t.assert.deepStrictEqual(
    Object.fromEntries(rows),
    { ...ERROR_CODES },
    'every code in src/errors.ts has a row in docs/errors.md and vice versa',
  );
  t.assert.strictEqual(rows.length, Object.keys(ERROR_CODES).length, 'no code is listed twice');
});

test('exit codes: 2 for usage errors, 130 when interrupted, 1 otherwise', (t: TestContext) => {
  t.assert.strictEqual(exitCodeOf(new ArozError('ERR_USAGE', 'x')), 2);
  // A malformed SIZE or UUID on the command line is a usage error too.
  t.assert.strictEqual(exitCodeOf(new ArozError('ERR_INVALID_SIZE', 'x')), 2);
  t.assert.strictEqual(exitCodeOf(new ArozError('ERR_INVALID_UUID', 'x')), 2);
  t.assert.strictEqual(exitCodeOf(new ArozError('ERR_INTERRUPTED', 'x')), 130);
  t.assert.strictEqual(exitCodeOf(new ArozError('ERR_IO', 'x')), 1);
  t.assert.strictEqual(exitCodeOf(new Error('x')), 1);
});
