import { type TestContext, test } from 'node:test';
import { eachLimited } from '../src/limit.ts';

test('eachLimited() runs every item with at most `limit` at once, each worker with its own state', async (t: TestContext) => {
  let running = 0;
  let most = 0;
  const seen: number[] = [];
  const states = new Set<object>();
  await eachLimited(
    Array.from({ length: 20 }, (_, i) => i),
    3,
    async (item, state) => {
      running++;
      most = Math.max(most, running);
      states.add(state);
      await new Promise<void>((resolve) => setImmediate(resolve));
      seen.push(item);
      running--;
    },
    { init: () => ({}) },
  );
  t.assert.strictEqual(most, 3);
  t.assert.strictEqual(states.size, 3);
  t.assert.deepStrictEqual(
    seen.toSorted((a, b) => a - b),
    Array.from({ length: 20 }, (_, i) => i),
  );
});

test('eachLimited() takes no item after a failure, and throws it once the others settled', async (t: TestContext) => {
  const started: number[] = [];
  const heard: unknown[] = [];
  let settled = 0;
  const boom = new Error('item 2 failed');
  await t.assert.rejects(
    eachLimited(
      [0, 1, 2, 3, 4, 5, 6, 7],
      2,
      async (item) => {
        started.push(item);
        await new Promise<void>((resolve) => setImmediate(resolve));
        settled++;
        if (item === 2) throw boom;
      },
      { onError: (err) => heard.push(err) },
    ),
    (err) => err === boom,
  );
  t.assert.deepStrictEqual(heard, [boom]);
  t.assert.strictEqual(settled, started.length);
  t.assert.ok(!started.includes(7));
});

test('eachLimited() of no items starts no worker', async (t: TestContext) => {
  let inits = 0;
  await eachLimited([], 4, async () => {}, { init: () => inits++ });
  t.assert.strictEqual(inits, 0);
});
