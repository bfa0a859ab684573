import { type TestContext, test } from 'node:test';
import { isArozError } from '../../src/errors.ts';
import type { IndexRedundancy } from '../../src/index-file/index.ts';
import { targets } from '../../src/placement/index.ts';
import { redundancyOf, replicas } from '../../src/transfer/redundancy.ts';

test('replicas(R) stores R whole copies, plans them as placement does, and one good copy rebuilds a chunk', (t: TestContext) => {
  const r = replicas(3);
  t.assert.deepStrictEqual(r.record, { scheme: 'replicas', copies: 3 });
  t.assert.strictEqual(r.pieces, 3);
  t.assert.strictEqual(r.needed, 1);
  const list = ['a', 'b', 'c', 'd', 'e'];
  for (let i = 0; i < 7; i++) t.assert.deepStrictEqual(r.targets(list, i, 2), targets(list, i, 2, 3));
  t.assert.deepStrictEqual([0, 1, 2, 3, 4].map(r.health), [
    'lost',
    'degraded',
    'degraded',
    'healthy',
    'healthy',
  ]);
});

test('redundancyOf() refuses a scheme it does not know', (t: TestContext) => {
  t.assert.strictEqual(redundancyOf({ scheme: 'replicas', copies: 2 }).pieces, 2);
  t.assert.throws(
    () => redundancyOf({ scheme: 'reed-solomon', copies: 1 } as unknown as IndexRedundancy),
    (err) => isArozError(err, 'ERR_INDEX_SCHEME'),
  );
});
