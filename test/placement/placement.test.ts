import { type TestContext, test } from 'node:test';
import fc from 'fast-check';
import { isArozError } from '../../src/errors.ts';
import { INDEX_MAX_CHUNKS, MAX_COPIES } from '../../src/index-file/index.ts';
import {
  checkPlacement,
  copyShares,
  defaultClusterList,
  distinctNodes,
  fallbacks,
  givenLists,
  spreadLists,
  target,
  targets,
} from '../../src/placement/index.ts';
import { seedFastCheck } from '../helpers/random.ts';

seedFastCheck();

const nodes = (n: number) => Array.from({ length: n }, (_, k) => `node-${k}`);
const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

test('target() puts pass p of chunk i on list[(i + p·x) mod n]', (t: TestContext) => {
  const list = ['a', 'b', 'c'];
  const placed = [0, 1, 2, 3].map((i) => targets(list, i, 1, 2));
  t.assert.deepStrictEqual(placed, [
    ['a', 'b'],
    ['b', 'c'],
    ['c', 'a'],
    ['a', 'b'],
  ]);
  t.assert.strictEqual(target(list, 1, 1, 2), 'a', '(1 + 1·2) mod 3 = 0');
  t.assert.strictEqual(target(list, 5, 3, 2 ** 52), list[Number((5n + 3n * 2n ** 52n) % 3n)], 'no overflow');
});

test('R passes hit R distinct nodes exactly when n / gcd(x mod n, n) ≥ R', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 40 }),
      fc.nat({ max: 1000 }),
      fc.integer({ min: 1, max: 16 }),
      fc.nat({ max: 10_000 }),
      (n, x, r, i) => {
        const list = nodes(n);
        const reached = new Set(targets(list, i, x, r)).size === r;
        const allowed = n / gcd(x % n, n) >= r;
        if (reached !== allowed) return false;
        if (distinctNodes(n, x) !== n / gcd(x % n, n)) return false;
        try {
          checkPlacement(n, x, r);
          return allowed;
        } catch (err) {
          return !allowed && isArozError(err, 'ERR_PLACEMENT');
        }
      },
    ),
  );
});

test('checkPlacement() refuses a shift that puts 2 copies on one node, naming n, x and R', (t: TestContext) => {
  for (const [n, x, r] of [
    [4, 2, 3],
    [3, 3, 2],
    [3, 0, 2],
    [1, 1, 2],
  ] as const) {
    t.assert.throws(
      () => checkPlacement(n, x, r),
      (err: unknown) => {
        t.assert.ok(isArozError(err, 'ERR_PLACEMENT'));
        const message = (err as Error).message;
        t.assert.match(message, new RegExp(`${r} copies on ${n} nodes with shift ${x}`));
        return true;
      },
    );
  }
  t.assert.doesNotThrow(() => checkPlacement(3, 1, 2));
  t.assert.doesNotThrow(() => checkPlacement(4, 2, 2));
  t.assert.doesNotThrow(() => checkPlacement(1, 0, 1));
});

test('checkPlacement() refuses an empty list, a negative shift and copies out of range', (t: TestContext) => {
  for (const [n, x, r] of [
    [0, 1, 1],
    [3, -1, 2],
    [3, 1.5, 2],
    [3, 1, 0],
    [20, 1, 17],
  ] as const) {
    t.assert.throws(
      () => checkPlacement(n, x, r),
      (err: unknown) => isArozError(err, 'ERR_PLACEMENT'),
    );
  }
});

test('fallbacks() walks list[(i + p·x + k) mod n] for k = 1, 2, … skipping holders', (t: TestContext) => {
  const list = ['a', 'b', 'c', 'd', 'e'];
  // chunk 1, pass 1, shift 2: the target is list[3] = 'd'; then e, a, b, c without holders.
  t.assert.strictEqual(target(list, 1, 1, 2), 'd');
  t.assert.deepStrictEqual([...fallbacks(list, 1, 1, 2, new Set(['b']))], ['e', 'a', 'c']);
  t.assert.deepStrictEqual([...fallbacks(list, 1, 1, 2, (node) => node !== 'a')], ['a']);
});

test('fallbacks() is lazy: a node added to the holders while iterating is skipped', (t: TestContext) => {
  const holding = new Set<string>();
  const picked: string[] = [];
  for (const node of fallbacks(['a', 'b', 'c', 'd'], 0, 0, 1, holding)) {
    picked.push(node);
    holding.add('c');
  }
  t.assert.deepStrictEqual(picked, ['b', 'd']);
});

test('fallback never picks a holder twice, nor a node that failed', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 2, max: 30 }),
      fc.nat({ max: 100 }),
      fc.integer({ min: 1, max: 8 }),
      fc.nat({ max: 1000 }),
      fc.array(fc.boolean(), { maxLength: 60 }),
      (n, x, r, i, failures) => {
        const list = nodes(n);
        const holders = new Set<string>();
        const failed = new Set<string>();
        const skip = (node: string) => holders.has(node) || failed.has(node);
        let f = 0;
        // Each pass tries its target, then its fallbacks; a try fails when `failures` says so.
        for (let p = 0; p < Math.min(r, distinctNodes(n, x)); p++) {
          const first = target(list, i, p, x);
          let placed = false;
          for (const node of [first, ...fallbacks(list, i, p, x, skip)]) {
            if (node === first && skip(node)) continue;
            if (skip(node)) return false; // a fallback offered a holder or a failed node
            if (failures[f++] === true) {
              failed.add(node);
              continue;
            }
            holders.add(node);
            placed = true;
            break;
          }
          if (!placed) return holders.size + failed.size === n; // every node was used up
        }
        return holders.size === Math.min(r, distinctNodes(n, x));
      },
    ),
  );
});

test('defaultClusterList() is the distinct nodes sorted by UUID, whatever the input order', (t: TestContext) => {
  const a = '0b6f8a52-3c1d-4e7f-9a2b-5c8d1e4f7a90';
  const b = '1c7e9b63-4d2e-4f80-8b3c-6d9e2f5a8b01';
  const c = '2d8fac74-5e3f-4091-9c4d-7eaf3a6b9c12';
  t.assert.deepStrictEqual(defaultClusterList([c, a, b, a]), [a, b, c]);
  t.assert.deepStrictEqual(defaultClusterList([b, c, a]), defaultClusterList([a, c, b]));
});

test('givenLists(): chunk i, pass p on list i at (p·x) mod n is list[(i + p·x) mod n], as before', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 40 }),
      fc.nat({ max: 1000 }),
      fc.integer({ min: 1, max: 16 }),
      fc.nat({ max: 100_000 }),
      (n, x, r, i) => {
        const list = nodes(n);
        const mine = givenLists(list)(i);
        return (
          mine.length === n &&
          new Set(mine).size === n &&
          Array.from({ length: r }, (_, p) => p).every((p) => target(mine, 0, p, x) === target(list, i, p, x))
        );
      },
    ),
  );
});

/** Distinct node names with a free space each (some 0: full or at their reserve), a shift that fits. */
const spreadCase = fc
  .record({
    names: fc.uniqueArray(fc.stringMatching(/^[0-9a-f]{1,8}$/), { minLength: 1, maxLength: 24 }),
    copies: fc.integer({ min: 1, max: MAX_COPIES }),
    x: fc.nat({ max: 200 }),
    key: fc.string({ maxLength: 40 }),
    i: fc.nat({ max: INDEX_MAX_CHUNKS - 1 }),
    weights: fc.array(
      fc.oneof(
        fc.constant(0),
        fc.integer({ min: 1, max: 2 ** 20 }),
        fc.nat({ max: Number.MAX_SAFE_INTEGER }),
      ),
      { minLength: 24, maxLength: 24 },
    ),
    seed: fc.nat(),
  })
  .map(({ names, weights, ...rest }) => ({
    ...rest,
    nodes: names.map((node, k) => ({ node, free: weights[k]! })),
  }))
  .filter(({ nodes: all, x, copies }) => {
    const n = all.filter((s) => s.free > 0).length;
    return n >= copies && distinctNodes(n, x) >= copies;
  });

test('spreadLists(): the R passes land on R distinct nodes with space, for any nodes, shift, free space and file', () => {
  fc.assert(
    fc.property(spreadCase, ({ nodes: all, copies, x, key, i }) => {
      const list = spreadLists(all, key, copies, x)(i);
      const usable = all.filter((s) => s.free > 0).map((s) => s.node);
      const passes = targets(list, 0, x, copies);
      return (
        new Set(passes).size === copies &&
        list.length === usable.length &&
        new Set(list).size === list.length &&
        list.every((node) => usable.includes(node))
      );
    }),
    { numRuns: 500 },
  );
});

test('spreadLists(): every node computes the same lists for the same inputs, in any order', () => {
  fc.assert(
    fc.property(spreadCase, ({ nodes: all, copies, x, key, i, seed }) => {
      // Another node gets the same nodes in another order (a seeded shuffle).
      const shuffled = [...all];
      let s = seed;
      for (let k = shuffled.length - 1; k > 0; k--) {
        s = (Math.imul(s, 1103515245) + 12345) >>> 0;
        const j = s % (k + 1);
        [shuffled[k], shuffled[j]] = [shuffled[j]!, shuffled[k]!];
      }
      const here = spreadLists(all, key, copies, x);
      const there = spreadLists(shuffled, key, copies, x);
      return JSON.stringify([here(i), here(i + 1)]) === JSON.stringify([there(i), there(i + 1)]);
    }),
    { numRuns: 300 },
  );
});

test('spreadLists(): a node that is full (free space 0) is never listed, so it gets no copy nor fallback', () => {
  fc.assert(
    fc.property(spreadCase, ({ nodes: all, copies, x, key, i }) => {
      const full = new Set(all.filter((s) => s.free === 0).map((s) => s.node));
      const list = spreadLists(all, key, copies, x)(i);
      const walked = [...fallbacks(list, 0, 0, x, new Set())];
      return list.every((node) => !full.has(node)) && walked.every((node) => !full.has(node));
    }),
    { numRuns: 300 },
  );
});

test('spreadLists() refuses a repeated node, a free space that is not a number, and too few nodes with space', (t: TestContext) => {
  t.assert.throws(
    () =>
      spreadLists(
        [
          { node: 'a', free: 1 },
          { node: 'a', free: 2 },
        ],
        'k',
        1,
        1,
      ),
    RangeError,
  );
  t.assert.throws(() => spreadLists([{ node: 'a', free: Number.NaN }], 'k', 1, 1), RangeError);
  t.assert.throws(
    () =>
      spreadLists(
        [
          { node: 'a', free: 5 },
          { node: 'b', free: 0 },
        ],
        'k',
        2,
        1,
      ),
    RangeError,
  );
  t.assert.throws(
    () =>
      spreadLists(
        nodes(4).map((node) => ({ node, free: 1 })),
        'k',
        3,
        2,
      ),
    RangeError,
  );
});

test('copyShares() is proportional to free space, capped at 1/R, and sums to 1', () => {
  fc.assert(
    fc.property(
      fc.array(fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 2 ** 40 })), {
        minLength: 1,
        maxLength: 30,
      }),
      fc.integer({ min: 1, max: MAX_COPIES }),
      (free, copies) => {
        if (free.filter((w) => w > 0).length < copies) return true;
        const shares = copyShares(free, copies);
        const sum = shares.reduce((a, b) => a + b, 0);
        const cap = 1 / copies;
        const uncapped = free.flatMap((w, k) => (shares[k]! < cap - 1e-12 && w > 0 ? [shares[k]! / w] : []));
        const ratio = uncapped[0];
        return (
          Math.abs(sum - 1) < 1e-9 &&
          shares.every((s, k) => s <= cap + 1e-12 && (free[k] === 0 ? s === 0 : s > 0)) &&
          uncapped.every((q) => Math.abs(q - ratio!) <= 1e-9 * ratio!)
        );
      },
    ),
  );
  const fourTwoHalf = copyShares([4, 2, 0.5], 2);
  for (const [k, share] of [0.5, 0.4, 0.1].entries()) {
    if (Math.abs(fourTwoHalf[k]! - share) > 1e-12) throw new Error(`share ${k}: ${fourTwoHalf[k]}`);
  }
});

test('spreadLists(): over many files each node holds copies in proportion to its free space', (t: TestContext) => {
  // 4 TB, 2 TB, 500 GB, 4 TB; 2 copies; 40,000 files of one chunk (deterministic keys).
  const free = [4e12, 2e12, 5e11, 4e12];
  const all = free.map((f, k) => ({ node: `n${k}`, free: f }));
  const held = new Map<string, number>();
  const pairs = new Set<string>();
  const files = 40_000;
  for (let f = 0; f < files; f++) {
    const passes = targets(spreadLists(all, `file-${f}`, 2, 1)(0), 0, 1, 2);
    for (const node of passes) held.set(node, (held.get(node) ?? 0) + 1);
    pairs.add([...passes].sort().join('+'));
  }
  const total = free.reduce((a, b) => a + b, 0);
  for (const [k, f] of free.entries()) {
    const share = (held.get(`n${k}`) ?? 0) / (2 * files);
    t.assert.ok(
      Math.abs(share / (f / total) - 1) < 0.05,
      `node ${k}: ${share} of copies for ${f / total} of space`,
    );
  }
  t.assert.strictEqual(pairs.size, 6, 'every pair of nodes shares some file');
});
