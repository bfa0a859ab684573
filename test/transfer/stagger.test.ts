import { type TestContext, test } from 'node:test';
import { Stagger } from '../../src/transfer/stagger.ts';

/** Whether `promise` has settled after every pending callback ran. */
async function settled(promise: Promise<void>): Promise<boolean> {
  let done = false;
  void promise.then(() => {
    done = true;
  });
  await new Promise<void>((resolve) => setImmediate(resolve));
  return done;
}

test('a staggered worker starts once its share of bytes arrived, not before', async (t: TestContext) => {
  const stagger = new Stagger(100, 60_000);
  t.assert.ok(await settled(stagger.wait(0)), 'the first worker never waits');
  const second = stagger.wait(1);
  const third = stagger.wait(2);
  stagger.arrived(99);
  t.assert.ok(!(await settled(second)));
  stagger.arrived(-50); // a failed attempt's bytes no longer count; what arrived still did
  stagger.arrived(1);
  t.assert.ok(await settled(second));
  t.assert.ok(!(await settled(third)));
  stagger.arrived(100);
  t.assert.ok(await settled(third));
});

test('an open stagger lets every waiting worker go, and later ones at once', async (t: TestContext) => {
  const stagger = new Stagger(1024, 60_000);
  const waiting = [1, 2, 3].map((k) => stagger.wait(k));
  stagger.open(); // a fetch ended, or the download failed: nothing may arrive any more
  for (const w of waiting) t.assert.ok(await settled(w));
  t.assert.ok(await settled(stagger.wait(5)));
});

test('a worker waits no longer than its steps allow when nothing arrives (a holder that hangs)', async (t: TestContext) => {
  const stagger = new Stagger(1024, 20);
  const started = performance.now();
  await stagger.wait(2); // nothing arrives: released after about 2 × 20 ms, not never
  t.assert.ok(performance.now() - started >= 35, 'it did wait its steps');
  stagger.arrived(1); // a waiter released by its timer is gone: nothing left to wake
  t.assert.ok(await settled(stagger.wait(0)));
});
