import { type TestContext, test } from 'node:test';
import { invertMatrix, mul, mulAdd } from '../../src/erasure/gf256.ts';
import { ReedSolomon, STRIPE_UNIT, shardSize, stripes } from '../../src/erasure/index.ts';
import { testBytes } from '../helpers/random.ts';

/** Every way to pick `k` of `n` shard numbers. */
function* choose(n: number, k: number, from = 0, picked: number[] = []): Generator<number[]> {
  if (picked.length === k) {
    yield picked;
    return;
  }
  for (let s = from; s < n; s++) yield* choose(n, k, s + 1, [...picked, s]);
}

test('GF(2^8): multiplication by the table agrees with shift-and-add, and a matrix times its inverse is the identity', (t: TestContext) => {
  const slow = (a: number, b: number) => {
    let p = 0;
    for (; b > 0; b >>= 1) {
      if (b & 1) p ^= a;
      a = a & 0x80 ? ((a << 1) ^ 0x11d) & 0xff : a << 1;
    }
    return p;
  };
  for (let a = 0; a < 256; a += 7) for (let b = 0; b < 256; b++) t.assert.strictEqual(mul(a, b), slow(a, b));
  const m = [
    [1, 2, 3],
    [4, 5, 6],
    [7, 8, 10],
  ];
  const inv = invertMatrix(m);
  for (let r = 0; r < 3; r++) {
    for (let c = 0; c < 3; c++) {
      const v = [0, 1, 2].reduce((s, k) => s ^ mul(m[r]![k]!, inv[k]![c]!), 0);
      t.assert.strictEqual(v, r === c ? 1 : 0);
    }
  }
  const out = Uint8Array.from([1, 2, 3, 4, 5]);
  mulAdd(out, Uint8Array.from([5, 4, 3, 2, 1]), 1, 5);
  t.assert.deepStrictEqual([...out], [4, 6, 0, 6, 4]);
});

test('Reed–Solomon: any K of K + M shards rebuild every other shard (2+1, 3+2, 4+2, 5+3), parity 0 is the XOR', (t: TestContext) => {
  for (const [k, m] of [
    [2, 1],
    [3, 2],
    [4, 2],
    [5, 3],
  ] as const) {
    const rs = new ReedSolomon(k, m);
    const n = 1001; // not a multiple of 4: the XOR's tail
    const bytes = Uint8Array.from(testBytes(k * n));
    const data = Array.from({ length: k }, (_, d) => bytes.subarray(d * n, (d + 1) * n));
    const parity = Array.from({ length: m }, () => new Uint8Array(n));
    rs.encode(data, parity, n);
    const xor = new Uint8Array(n);
    for (const d of data) for (let j = 0; j < n; j++) xor[j]! ^= d[j]!;
    t.assert.deepStrictEqual(parity[0], xor);
    const all = [...data, ...parity];
    for (const have of choose(k + m, k)) {
      const wanted = all.map((_, s) => s).filter((s) => !have.includes(s));
      const out = wanted.map(() => new Uint8Array(n));
      rs.rebuild(
        have,
        have.map((s) => all[s]!),
        wanted,
        out,
        n,
      );
      for (const [j, s] of wanted.entries()) {
        t.assert.deepStrictEqual(out[j], all[s], `${k}+${m} from [${have}]: shard ${s}`);
      }
    }
    t.assert.throws(() => rs.rebuild(have(k - 1), [], [0], [new Uint8Array(n)], n), RangeError);
  }
  t.assert.throws(() => new ReedSolomon(0, 1), RangeError);
  t.assert.throws(() => new ReedSolomon(60, 5), RangeError);
});

function have(count: number): number[] {
  return Array.from({ length: count }, (_, s) => s);
}

test('layout: the stripes cover a chunk exactly, and every shard has the size shardSize gives', (t: TestContext) => {
  for (const data of [1, 2, 3, 4]) {
    for (const size of [
      1,
      2,
      5,
      4096,
      STRIPE_UNIT,
      data * STRIPE_UNIT,
      data * STRIPE_UNIT + 1,
      3 * data * STRIPE_UNIT - 7,
    ]) {
      let covered = 0;
      let shard = 0;
      for (const s of stripes(size, data)) {
        t.assert.strictEqual(s.chunkOffset, covered);
        t.assert.strictEqual(s.shardOffset, shard);
        covered += Math.min(size - s.chunkOffset, data * s.unit);
        shard += s.unit;
      }
      t.assert.strictEqual(covered, size);
      t.assert.strictEqual(shard, shardSize(size, data));
      t.assert.ok(shard * data - size < data, `padding of ${size} in ${data} shards`);
    }
  }
});
