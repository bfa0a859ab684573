import { constants, type PerformanceEntry, PerformanceObserver } from 'node:perf_hooks';
import { type TestContext, test } from 'node:test';
import { noteReceived, SETTLE_MS, YOUNG_GC_EVERY } from '../src/young-gc.ts';

/** A collection asked for through V8's gc extension (what young-gc.ts does), of the given kind. */
function forced(e: PerformanceEntry, kind: number): boolean {
  const detail = (e as PerformanceEntry & { detail?: { kind?: number; flags?: number } }).detail;
  return detail?.kind === kind && ((detail.flags ?? 0) & constants.NODE_PERFORMANCE_GC_FLAGS_FORCED) !== 0;
}

/** Counts the forced young collections that `work` causes, as V8 reports them to perf_hooks. */
async function forcedYoung(work: () => void): Promise<number> {
  noteReceived(YOUNG_GC_EVERY); // start from a fresh count; its collection is reported before we watch
  for (let turns = 0; turns < 3; turns++) await new Promise(setImmediate);
  const seen: PerformanceEntry[] = [];
  const observer = new PerformanceObserver((list) => seen.push(...list.getEntries()));
  observer.observe({ entryTypes: ['gc'] });
  try {
    work();
    // GC entries are delivered asynchronously: wait for them on the event loop, not on time.
    for (let turns = 0; turns < 50 && seen.length === 0; turns++) await new Promise(setImmediate);
    await new Promise(setImmediate);
  } finally {
    observer.disconnect();
  }
  return seen.filter((e) => forced(e, constants.NODE_PERFORMANCE_GC_MINOR)).length;
}

test('noteReceived() runs one young collection per 4 MiB of received network data', async (t: TestContext) => {
  const reads = (10 * YOUNG_GC_EVERY) / (64 * 1024); // 10 × 4 MiB in 64 KiB reads
  const counted = await forcedYoung(() => {
    for (let k = 0; k < reads; k++) noteReceived(64 * 1024);
  });
  t.assert.strictEqual(counted, 10);
});

test('noteReceived() collects nothing below 4 MiB', async (t: TestContext) => {
  const counted = await forcedYoung(() => noteReceived(YOUNG_GC_EVERY / 2));
  t.assert.strictEqual(counted, 0);
});

test('noteReceived() runs one full collection once no data came for a while', async (t: TestContext) => {
  const { promise, resolve } = Promise.withResolvers<number>();
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      if (forced(e, constants.NODE_PERFORMANCE_GC_MAJOR)) resolve(e.startTime);
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  const deadline = setTimeout(() => resolve(Number.NaN), SETTLE_MS + 30_000);
  t.after(() => {
    observer.disconnect();
    clearTimeout(deadline);
  });
  const last = performance.now();
  noteReceived(1);
  const at = await promise;
  t.assert.ok(!Number.isNaN(at), 'a full collection came');
  t.assert.ok(at - last >= SETTLE_MS - 50, `not before the quiet time (${(at - last).toFixed(0)} ms)`);
});
