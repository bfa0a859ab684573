/**
 * The pure part of repair (src/repair/, docs/repair.md): which copies count, who repairs (the lowest
 * UUID among the good holders, the same on every node), and where new copies go (never a holder, never
 * a node without room, in spread order).
 */
import { type TestContext, test } from 'node:test';
import { isExtraCopy, judgeChunk, judgeOrphan, newHolders } from '../../src/repair/index.ts';

const A = '11111111-1111-4111-8111-111111111111';
const B = '22222222-2222-4222-8222-222222222222';
const C = '33333333-3333-4333-8333-333333333333';
const D = '44444444-4444-4444-8444-444444444444';
const FILE = '55555555-5555-4555-8555-555555555555';

test('judgeChunk counts good and away copies, not bad or gone ones, and names the lowest good holder', (t: TestContext) => {
  const v = judgeChunk({
    copies: 3,
    holders: new Map([
      [C, 'good'],
      [B, 'good'],
      [A, 'gone'],
      [D, 'away'],
    ]),
  });
  t.assert.deepStrictEqual(v, { counted: 3, missing: 0, sources: [B, C], repairer: B });
  const bad = judgeChunk({
    copies: 2,
    holders: new Map([
      [A, 'bad'],
      [D, 'good'],
    ]),
  });
  t.assert.deepStrictEqual(bad, { counted: 1, missing: 1, sources: [D], repairer: D });
  const none = judgeChunk({ copies: 2, holders: new Map([[A, 'away']]) });
  t.assert.strictEqual(none.repairer, undefined);
});

test('newHolders never lists a holder or a node without room, and is the same whatever the input order', (t: TestContext) => {
  const online = [
    { node: A, free: 10_000 },
    { node: B, free: 100 },
    { node: C, free: 50_000 },
    { node: D, free: 20_000 },
  ];
  const order = newHolders(online, new Set([A]), FILE, 3, 1_000);
  t.assert.deepStrictEqual([...order].sort(), [C, D]);
  t.assert.deepStrictEqual(newHolders([...online].reverse(), new Set([A]), FILE, 3, 1_000), order);
  t.assert.deepStrictEqual(newHolders(online, new Set([C, D]), FILE, 0, 20_000), []);
});

test('isExtraCopy picks exactly the surplus among the holdings-only holders, never an index holder', (t: TestContext) => {
  const sources = { sources: [A, B, C, D] };
  const index = new Set([A, B]);
  // 4 good copies, 2 asked: C and D (holdings only) are the extra ones.
  t.assert.deepStrictEqual(
    [A, B, C, D].filter((n) => isExtraCopy(n, sources, 2, index)),
    [C, D],
  );
  // 4 good, 3 asked: only the highest UUID of the holdings-only holders goes.
  t.assert.deepStrictEqual(
    [A, B, C, D].filter((n) => isExtraCopy(n, sources, 3, index)),
    [D],
  );
  // Only as many good copies as asked (an away node does not count): nothing goes.
  t.assert.deepStrictEqual(
    [A, C].filter((n) => isExtraCopy(n, { sources: [A, C] }, 2, index)),
    [],
  );
});

test('judgeOrphan trashes a tombstoned copy at once, and an unreferenced one only when old and its uploader synced since', (t: TestContext) => {
  const base = {
    self: 'self',
    uploader: 'up',
    storedAt: 1_000,
    now: 100_000,
    ageMs: 10_000,
    tombstoned: false,
    referenced: false,
    trusted: true,
    syncedAt: 2_000,
    ownUploads: false,
  };
  t.assert.strictEqual(judgeOrphan(base), 'orphan');
  t.assert.strictEqual(judgeOrphan({ ...base, referenced: true }), 'keep');
  t.assert.strictEqual(judgeOrphan({ ...base, now: 5_000 }), 'keep', 'young');
  t.assert.strictEqual(judgeOrphan({ ...base, syncedAt: undefined }), 'keep', 'never heard from');
  t.assert.strictEqual(judgeOrphan({ ...base, syncedAt: 1_000 }), 'keep', 'not synced since');
  t.assert.strictEqual(judgeOrphan({ ...base, trusted: false }), 'removed');
  t.assert.strictEqual(judgeOrphan({ ...base, now: 5_000, tombstoned: true }), 'orphan');
  t.assert.strictEqual(judgeOrphan({ ...base, uploader: 'self', syncedAt: undefined }), 'orphan');
  t.assert.strictEqual(judgeOrphan({ ...base, uploader: 'self', ownUploads: true }), 'keep');
});
