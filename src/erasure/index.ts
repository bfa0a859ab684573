/**
 * Erasure coding (docs/index-format.md "Erasure coding"): a systematic Reed–Solomon code over
 * GF(2^8) (rs.ts, gf256.ts) and the layout of a chunk's bytes across its data shards (layout.ts).
 *
 * Pure: no I/O. It must never give back a rebuilt piece from fewer than K distinct shards.
 */
export { dataRange, STRIPE_UNIT, type Stripe, shardSize, stripes } from './layout.ts';
export { MAX_SHARDS, ReedSolomon } from './rs.ts';
