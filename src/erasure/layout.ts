/**
 * How a chunk is cut into the K data shards of an erasure-coded index (docs/index-format.md
 * "Erasure coding"): the chunk is read in stripes of K·UNIT bytes, and data shard k gets the k-th
 * UNIT of every stripe; the last, shorter stripe of L bytes is cut into K units of ⌈L/K⌉ bytes, the
 * end zero-padded. So every shard of a chunk has the same size, a chunk is read once in order (its
 * SHA-256 and the file's computed on the way), and memory is (K + M)·UNIT whatever the chunk size.
 */

/** Bytes of one data shard per stripe (the last stripe's unit is smaller). Part of the format. */
export const STRIPE_UNIT = 256 * 1024;

export interface Stripe {
  /** Where the stripe starts in the chunk, and in every shard. */
  chunkOffset: number;
  shardOffset: number;
  /** Bytes of each shard in this stripe. */
  unit: number;
}

/** The size of every shard of a chunk of `size` bytes cut into `data` data shards. */
export function shardSize(size: number, data: number): number {
  const full = Math.floor(size / (data * STRIPE_UNIT));
  const rest = size - full * data * STRIPE_UNIT;
  return full * STRIPE_UNIT + Math.ceil(rest / data);
}

/** The stripes of a chunk of `size` bytes, in order. */
export function* stripes(size: number, data: number): Generator<Stripe, void, undefined> {
  let chunkOffset = 0;
  let shardOffset = 0;
  while (chunkOffset < size) {
    const left = size - chunkOffset;
    const unit = left >= data * STRIPE_UNIT ? STRIPE_UNIT : Math.ceil(left / data);
    yield { chunkOffset, shardOffset, unit };
    chunkOffset += Math.min(left, data * unit);
    shardOffset += unit;
  }
}

/** The bytes of data shard `k` in a stripe, as a range of the chunk (may be empty at the end). */
export function dataRange(stripe: Stripe, k: number, size: number): { start: number; end: number } {
  const start = Math.min(size, stripe.chunkOffset + k * stripe.unit);
  return { start, end: Math.min(size, start + stripe.unit) };
}
