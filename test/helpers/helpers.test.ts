/** The test helpers every other test leans on: waiting with a deadline, and seeded test data. */
import { type TestContext, test } from 'node:test';
import { SEED, testBytes, testInt, testRandom } from './random.ts';
import { seeded } from './seed.ts';
import { until } from './until.ts';

test('until() returns the first answer of its probe, polling past errors and "not yet"', async (t: TestContext) => {
  let polls = 0;
  const value = await until(
    'the third poll',
    () => {
      polls++;
      if (polls === 1) throw new Error('not listening yet');
      return polls === 3 && { polls };
    },
    { intervalMs: 1 },
  );
  t.assert.deepStrictEqual(value, { polls: 3 });
});

test('until() fails after its deadline, naming what it waited for and the last error', async (t: TestContext) => {
  const started = performance.now();
  await t.assert.rejects(
    until(
      'the moon to turn blue',
      () => {
        throw new Error('ECONNREFUSED');
      },
      { timeoutMs: 100, intervalMs: 10 },
    ),
    (err: Error) =>
      /waiting for: the moon to turn blue/.test(err.message) &&
      /ECONNREFUSED/.test(err.message) &&
      err.cause instanceof Error,
  );
  t.assert.ok(performance.now() - started >= 100);
});

test('until() stops early when its signal aborts', async (t: TestContext) => {
  const controller = new AbortController();
  const waiting = until('never', () => false, { signal: controller.signal, intervalMs: 5 });
  controller.abort(new Error('the test is over'));
  await t.assert.rejects(waiting, /the test is over/);
});

test('seeded data repeats for the same seed and label, and differs between labels', (t: TestContext) => {
  t.assert.ok(seeded('a').bytes(64).equals(seeded('a').bytes(64)));
  t.assert.ok(!seeded('a').bytes(64).equals(seeded('b').bytes(64)));
  const stream = seeded('a');
  t.assert.ok(!stream.bytes(32).equals(stream.bytes(32)), 'a stream moves on');
  t.assert.ok(Number.isSafeInteger(SEED));
});

test('each test draws its own stream, fixed by its name', (t: TestContext) => {
  const mine = seeded(t.fullName);
  t.assert.ok(testBytes(100).equals(mine.bytes(100)));
  const x = testRandom();
  t.assert.ok(x >= 0 && x < 1);
  const n = testInt(5, 8);
  t.assert.ok(Number.isInteger(n) && n >= 5 && n < 8);
});
