/**
 * Waits past Node's timer limit (2^31 − 1 ms, about 24.8 days): a plain timer fires after 1 ms
 * instead. A long wait must still be waiting a while later, and stop when aborted.
 */

import { type TestContext, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { MAX_TIMER_MS, repeatEvery, sleepLong } from '../src/timers.ts';

const LONG = 30 * 24 * 60 * 60 * 1000; // the scrub's default pass: 30 days
/** How long a test watches for a wait that fires too soon (a plain timer fires after 1 ms). */
const WATCH_MS = 300;

test('a sleep past the timer limit is still waiting later, and rejects when aborted', async (t: TestContext) => {
  t.assert.ok(LONG > MAX_TIMER_MS);
  const stop = new AbortController();
  let ended = false;
  const long = sleepLong(LONG, stop.signal).finally(() => {
    ended = true;
  });
  long.catch(() => {});
  await sleep(WATCH_MS);
  t.assert.strictEqual(ended, false);
  stop.abort();
  await t.assert.rejects(long, { name: 'AbortError' });
});

test('a short sleep ends after its time', async (t: TestContext) => {
  const started = performance.now();
  await sleepLong(20);
  t.assert.ok(performance.now() - started >= 19);
});

test('a repetition past the timer limit does not run early; a short one runs again and again', async (t: TestContext) => {
  let long = 0;
  const stopLong = repeatEvery(LONG, () => long++);
  t.after(stopLong);
  let short = 0;
  const { promise: thrice, resolve } = Promise.withResolvers<void>();
  const stopShort = repeatEvery(10, () => {
    if (++short === 3) resolve();
  });
  t.after(stopShort);
  await thrice;
  await sleep(WATCH_MS);
  t.assert.strictEqual(long, 0);
});
