/**
 * bench:ec-codec — the Reed–Solomon code of src/erasure against SHA-256 on this machine, in MB/s of
 * data (the K data shards' bytes) per core: encode K+M, rebuild one data shard, and SHA-256 of the
 * same bytes. `npm run bench:ec-codec [-- MiB]` (default 256).
 */
import { createHash } from 'node:crypto';
import { ReedSolomon, STRIPE_UNIT } from '../src/erasure/index.ts';

const mib = Number(process.argv[2] ?? 256);
if (!Number.isSafeInteger(mib) || mib < 1)
  throw new Error(`"${process.argv[2]}" is not a whole number of MiB`);
const unit = STRIPE_UNIT;
const rounds = Math.max(1, Math.round((mib * 1024 * 1024) / unit));

function rate(bytes: number, ms: number): string {
  return `${(bytes / 1e6 / (ms / 1000)).toFixed(0).padStart(6)} MB/s`;
}

function time(fn: () => void): number {
  fn(); // warm up
  const start = performance.now();
  for (let r = 0; r < rounds; r++) fn();
  return performance.now() - start;
}

const piece = Buffer.allocUnsafeSlow(unit);
for (let k = 0; k < unit; k++) piece[k] = (k * 31 + 7) & 0xff;
const shaMs = time(() => createHash('sha256').update(piece).digest());
console.log(`SHA-256                     ${rate(rounds * unit, shaMs)}`);
for (const [k, m] of [
  [2, 1],
  [4, 2],
  [3, 2],
  [6, 3],
] as const) {
  const rs = new ReedSolomon(k, m);
  const data = Array.from({ length: k }, (_, c) => {
    const b = Buffer.allocUnsafeSlow(unit);
    for (let j = 0; j < unit; j++) b[j] = (j * (c + 3) + c) & 0xff;
    return b;
  });
  const parity = Array.from({ length: m }, () => Buffer.allocUnsafeSlow(unit));
  const encMs = time(() => rs.encode(data, parity, unit));
  const have = [...Array.from({ length: k - 1 }, (_, c) => c + 1), k];
  const pieces = [...data.slice(1), parity[0]!];
  const out = [Buffer.allocUnsafeSlow(unit)];
  const decMs = time(() => rs.rebuild(have, pieces, [0], out, unit));
  console.log(
    `RS ${k}+${m} encode ${rate(rounds * unit * k, encMs)}   rebuild one data shard ${rate(rounds * unit * k, decMs)}`,
  );
}
