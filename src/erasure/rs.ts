/**
 * A systematic Reed–Solomon code over GF(2^8): K data shards are kept as they are and M parity
 * shards are added; any K of the K + M rebuild the rest. The generator is the identity over an M×K
 * Cauchy matrix (every square submatrix of a Cauchy matrix is invertible, so every K rows of the
 * generator are), scaled so that its first row and column are all ones: parity 0 is the XOR of the
 * data shards, the cheapest parity, and the only one of a K+1 code.
 *
 * Pure and synchronous: callers hand it equal-length pieces of the shards (the same byte range of
 * each) and get the other pieces back.
 */
import { inv, invertMatrix, mul, mulAdd, mulSet } from './gf256.ts';

/** Most shards of one code (data + parity): a Cauchy matrix over GF(2^8) allows up to 256. */
export const MAX_SHARDS = 64;

export class ReedSolomon {
  readonly data: number;
  readonly parity: number;
  /** Row r: the coefficients of parity r over the data shards. */
  readonly #parityRows: number[][];
  /** Decode rows by the set of shards used and the shard wanted, computed once. */
  #decoders = new Map<string, number[][]>();

  constructor(data: number, parity: number) {
    if (!Number.isSafeInteger(data) || !Number.isSafeInteger(parity) || data < 1 || parity < 1) {
      throw new RangeError(`A Reed–Solomon code needs ≥ 1 data and ≥ 1 parity shard, not ${data}+${parity}`);
    }
    if (data + parity > MAX_SHARDS)
      throw new RangeError(`At most ${MAX_SHARDS} shards, not ${data + parity}`);
    this.data = data;
    this.parity = parity;
    // Cauchy: 1 / (x_r + y_c) with x_r = data + r, y_c = c (all distinct, so every sum is non-zero).
    const cauchy = Array.from({ length: parity }, (_, r) =>
      Array.from({ length: data }, (_, c) => inv((data + r) ^ c)),
    );
    const colScale = cauchy[0]!.map((v) => inv(v));
    const rowScale = cauchy.map((row) => inv(mul(row[0]!, colScale[0]!)));
    this.#parityRows = cauchy.map((row, r) => row.map((v, c) => mul(mul(v, colScale[c]!), rowScale[r]!)));
  }

  get total(): number {
    return this.data + this.parity;
  }

  /** Row `shard` of the generator: the coefficients of that shard over the data shards. */
  row(shard: number): number[] {
    if (shard < this.data) return Array.from({ length: this.data }, (_, c) => (c === shard ? 1 : 0));
    const row = this.#parityRows[shard - this.data];
    if (row === undefined) throw new RangeError(`No shard ${shard} in a ${this.data}+${this.parity} code`);
    return row;
  }

  /** Writes the first `length` bytes of every parity piece from the data pieces. */
  encode(data: readonly Uint8Array[], parity: readonly Uint8Array[], length: number): void {
    for (let r = 0; r < parity.length; r++) {
      const out = parity[r]!;
      const row = this.#parityRows[r]!;
      mulSet(out, data[0]!, row[0]!, length);
      for (let c = 1; c < this.data; c++) mulAdd(out, data[c]!, row[c]!, length);
    }
  }

  /**
   * Rebuilds shards `wanted` into `out` (same order) from K shards: `have` lists their numbers and
   * `pieces` their bytes (same order). RangeError unless `have` names K distinct shards.
   */
  rebuild(
    have: readonly number[],
    pieces: readonly Uint8Array[],
    wanted: readonly number[],
    out: readonly Uint8Array[],
    length: number,
  ): void {
    const rows = this.#decoder(have, wanted);
    for (let w = 0; w < wanted.length; w++) {
      const target = out[w]!;
      const coefficients = rows[w]!;
      mulSet(target, pieces[0]!, coefficients[0]!, length);
      for (let j = 1; j < have.length; j++) mulAdd(target, pieces[j]!, coefficients[j]!, length);
    }
  }

  /** For each wanted shard, its coefficients over the shards in `have`: row(w) × inverse(rows of have). */
  #decoder(have: readonly number[], wanted: readonly number[]): number[][] {
    const key = `${have.join(',')}>${wanted.join(',')}`;
    const cached = this.#decoders.get(key);
    if (cached !== undefined) return cached;
    if (have.length !== this.data || new Set(have).size !== have.length) {
      throw new RangeError(`Rebuilding needs ${this.data} distinct shards, not [${have.join(', ')}]`);
    }
    const inverse = invertMatrix(have.map((s) => this.row(s)));
    const rows = wanted.map((w) => {
      const g = this.row(w);
      return have.map((_, j) => g.reduce((sum, gc, c) => sum ^ mul(gc, inverse[c]![j]!), 0));
    });
    if (this.#decoders.size > 256) this.#decoders.clear();
    this.#decoders.set(key, rows);
    return rows;
  }
}
