/**
 * Arithmetic in GF(2^8) with the polynomial x^8 + x^4 + x^3 + x^2 + 1 (0x11d), the field of most
 * Reed–Solomon storage codes. Addition is XOR; multiplication goes through one 64 KiB table
 * (`MUL[a << 8 | b]`), so multiplying a buffer by a constant is one lookup per byte.
 */

const EXP = new Uint8Array(512);
const LOG = new Uint8Array(256);
{
  let x = 1;
  for (let i = 0; i < 255; i++) {
    EXP[i] = x;
    LOG[x] = i;
    x <<= 1;
    if (x & 0x100) x ^= 0x11d;
  }
  for (let i = 255; i < 512; i++) EXP[i] = EXP[i - 255]!;
}

/** The full multiplication table: row `a` (256 bytes from `a << 8`) is `a·b` for every b. */
export const MUL = new Uint8Array(65536);
for (let a = 1; a < 256; a++) {
  for (let b = 1; b < 256; b++) MUL[(a << 8) | b] = EXP[LOG[a]! + LOG[b]!]!;
}

export function mul(a: number, b: number): number {
  return MUL[(a << 8) | b]!;
}

export function inv(a: number): number {
  if (a === 0) throw new RangeError('0 has no inverse in GF(2^8)');
  return EXP[255 - LOG[a]!]!;
}

/**
 * `out[0..length) ^= c · src[0..length)`: the one loop every encode and rebuild runs. c = 1 is a
 * plain XOR, done 32 bits at a time when both views are aligned.
 */
export function mulAdd(out: Uint8Array, src: Uint8Array, c: number, length: number): void {
  if (c === 0) return;
  if (c === 1) {
    let k = 0;
    if (out.byteOffset % 4 === 0 && src.byteOffset % 4 === 0) {
      const words = length >>> 2;
      const o32 = new Uint32Array(out.buffer, out.byteOffset, words);
      const s32 = new Uint32Array(src.buffer, src.byteOffset, words);
      for (let w = 0; w < words; w++) o32[w]! ^= s32[w]!;
      k = words << 2;
    }
    for (; k < length; k++) out[k]! ^= src[k]!;
    return;
  }
  const row = MUL.subarray(c << 8, (c << 8) + 256);
  for (let k = 0; k < length; k++) out[k]! ^= row[src[k]!]!;
}

/** `out[0..length) = c · src[0..length)`. */
export function mulSet(out: Uint8Array, src: Uint8Array, c: number, length: number): void {
  if (c === 1) {
    out.set(src.subarray(0, length));
    return;
  }
  if (c === 0) {
    out.fill(0, 0, length);
    return;
  }
  const row = MUL.subarray(c << 8, (c << 8) + 256);
  for (let k = 0; k < length; k++) out[k] = row[src[k]!]!;
}

/** Inverts a square matrix (rows of numbers in GF(2^8)); RangeError when it is singular. */
export function invertMatrix(matrix: readonly (readonly number[])[]): number[][] {
  const n = matrix.length;
  const a = matrix.map((row, r) => [...row, ...Array.from({ length: n }, (_, c) => (c === r ? 1 : 0))]);
  for (let col = 0; col < n; col++) {
    const pivot = a.findIndex((row, r) => r >= col && row[col] !== 0);
    if (pivot < 0) throw new RangeError('The matrix is singular');
    [a[col], a[pivot]] = [a[pivot]!, a[col]!];
    const row = a[col]!;
    const scale = inv(row[col]!);
    for (let c = 0; c < 2 * n; c++) row[c] = mul(row[c]!, scale);
    for (let r = 0; r < n; r++) {
      const other = a[r]!;
      const f = other[col]!;
      if (r === col || f === 0) continue;
      for (let c = 0; c < 2 * n; c++) other[c]! ^= mul(f, row[c]!);
    }
  }
  return a.map((row) => row.slice(n));
}
