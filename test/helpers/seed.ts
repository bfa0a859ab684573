/**
 * The seed of every random choice a test makes, and a seeded generator that uses nothing of
 * node:test (child processes of tests use it too). `AROZDFS_TEST_SEED=<integer>` repeats a run;
 * `AROZDFS_TEST_SEED=random` picks a new seed (test/helpers/random.ts prints it when a test fails).
 * Keys, UUIDs and port numbers stay truly random: they are not test data, and two runs of the suite
 * at once must not pick the same ones.
 */
import { createCipheriv, createHash, randomInt } from 'node:crypto';

const DEFAULT_SEED = 20_261_206;

function readSeed(raw: string | undefined): number {
  if (raw === undefined || raw === '') return DEFAULT_SEED;
  if (raw === 'random') return randomInt(2 ** 31);
  const seed = Number(raw);
  if (!Number.isSafeInteger(seed))
    throw new Error(`AROZDFS_TEST_SEED="${raw}" is not an integer or "random"`);
  return seed;
}

export const SEED: number = readSeed(process.env['AROZDFS_TEST_SEED']);

export interface Seeded {
  /** The next `size` bytes of the stream. */
  bytes(size: number): Buffer;
  /** A number in [0, 1), as Math.random() gives. */
  float(): number;
  /** An integer in [min, max). */
  int(min: number, max: number): number;
}

/** A stream of pseudo-random bytes (AES-256-CTR) fixed by SEED and `label`: same label, same bytes. */
export function seeded(label: string): Seeded {
  const key = createHash('sha256').update(`arozdfs test data\0${SEED}\0${label}`).digest();
  const cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  const bytes = (size: number) => cipher.update(Buffer.alloc(size));
  const float = () => bytes(6).readUIntBE(0, 6) / 2 ** 48;
  return { bytes, float, int: (min, max) => min + Math.floor(float() * (max - min)) };
}
