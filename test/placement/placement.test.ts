import { type TestContext, test } from 'node:test';
import fc from 'fast-check';
import { isArozError } from '../../src/errors.ts';
import {
  checkPlacement,
  defaultClusterList,
  distinctNodes,
  fallbacks,
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
