/**
 * Seeded test data for test files. Each test (and subtest) draws from its own stream, fixed by the
 * seed and the test's full name, so one test repeats alone (`--test-name-pattern`) with the same data.
 * A test that fails after drawing any reports the seed under its name. Import this only from test
 * files and their helpers: it registers node:test hooks (a child process uses ./seed.ts instead).
 */
import { afterEach, beforeEach } from 'node:test';
import fc from 'fast-check';
import { SEED, type Seeded, seeded } from './seed.ts';

export { SEED } from './seed.ts';

let current: Seeded = seeded(`file ${process.argv[1] ?? ''}`);
let drawn = false;

beforeEach((t) => {
  current = seeded(t.fullName);
});

afterEach((t) => {
  // `passed` is set by Node 24 but missing from @types/node 24.
  const failed = (t as { passed?: boolean }).passed === false;
  if (failed && drawn && 'diagnostic' in t)
    t.diagnostic(`random test data came from seed ${SEED}: AROZDFS_TEST_SEED=${SEED} repeats it`);
});

function draw(): Seeded {
  drawn = true;
  return current;
}

/** `size` seeded pseudo-random bytes (in place of crypto.randomBytes for test data). */
export function testBytes(size: number): Buffer {
  return draw().bytes(size);
}

/** A seeded number in [0, 1) (in place of Math.random for test data). */
export function testRandom(): number {
  return draw().float();
}

/** A seeded integer in [min, max). */
export function testInt(min: number, max: number): number {
  return draw().int(min, max);
}

/**
 * Runs fast-check in this file from SEED: its failure messages name the seed and the path of the
 * counterexample, and the test's diagnostics name AROZDFS_TEST_SEED.
 */
export function seedFastCheck(): void {
  drawn = true;
  fc.configureGlobal({ ...fc.readConfigureGlobal(), seed: SEED });
}
