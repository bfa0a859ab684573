/**
 * Waiting on peers without hanging (src/transfer/idle.ts): a Watchdog gives each operation of a run
 * its own no-progress time with one timer, does not count the time between operations, and turns an
 * abort into ERR_INTERRUPTED.
 */
import { type TestContext, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ArozError } from '../../src/errors.ts';
import { Watchdog } from '../../src/transfer/idle.ts';

const MS = 40;

function watchdog(signal: AbortSignal, onTimeout?: () => void): Watchdog {
  return new Watchdog({
    ms: MS,
    signal,
    doing: 'Reading',
    timeout: () => new ArozError('ERR_TIMEOUT', 'no progress'),
    ...(onTimeout ? { onTimeout } : {}),
  });
}

test('a Watchdog passes results through and fails an operation that makes no progress', async (t: TestContext) => {
  let timedOut = 0;
  const watch = watchdog(new AbortController().signal, () => timedOut++);
  try {
    t.assert.strictEqual(await watch.race(Promise.resolve(7)), 7);
    await t.assert.rejects(watch.race(new Promise(() => {})), { code: 'ERR_TIMEOUT' });
    t.assert.strictEqual(timedOut, 1);
    // Once it fired, the run is over: later operations fail at once.
    await t.assert.rejects(watch.race(Promise.resolve(1)), { code: 'ERR_TIMEOUT' });
  } finally {
    watch.dispose();
  }
});

test('a Watchdog does not count the time between operations, and each operation gets its own time', async (t: TestContext) => {
  const watch = watchdog(new AbortController().signal);
  try {
    await watch.race(Promise.resolve());
    await sleep(3 * MS); // our own work between two reads: longer than the limit
    t.assert.strictEqual(await watch.race(sleep(MS / 2).then(() => 'read')), 'read');
    for (let k = 0; k < 4; k++) await watch.race(sleep(MS / 2)); // together longer than the limit
  } finally {
    watch.dispose();
  }
});

test('a Watchdog turns an abort into ERR_INTERRUPTED, also when aborted before it started', async (t: TestContext) => {
  const controller = new AbortController();
  const watch = watchdog(controller.signal);
  const pending = watch.race(new Promise(() => {}));
  controller.abort(new Error('stop'));
  await t.assert.rejects(pending, { code: 'ERR_INTERRUPTED' });
  watch.dispose();
  const late = watchdog(controller.signal);
  await t.assert.rejects(late.race(Promise.resolve(1)), { code: 'ERR_INTERRUPTED' });
  late.dispose();
});
