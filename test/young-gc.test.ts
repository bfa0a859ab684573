import { constants, type PerformanceEntry, PerformanceObserver } from 'node:perf_hooks';
import { type TestContext, test } from 'node:test';
import { noteReceived, SETTLE_MS, YOUNG_GC_EVERY } from '../src/young-gc.ts';

const kindOf = (e: PerformanceEntry): number | undefined =>
  (e as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind;

/** Counts the young collections that `work` causes, as V8 reports them to perf_hooks. */
async function youngCollections(work: () => void): Promise<number> {
  const seen: PerformanceEntry[] = [];
  const observer = new PerformanceObserver((list) => seen.push(...list.getEntries()));
  observer.observe({ entryTypes: ['gc'] });
  try {
    work();
    // GC entries are delivered asynchronously; one turn of the event loop per entry batch is enough,
    // but wait on the observer itself rather than on time.
    for (let turns = 0; turns < 50 && seen.length === 0; turns++) await new Promise(setImmediate);
    await new Promise(setImmediate);
  } finally {
    observer.disconnect();
  }
  return seen.filter((e) => kindOf(e) === constants.NODE_PERFORMANCE_GC_MINOR).length;
}

test('noteReceived() runs one young collection per 4 MiB of received network data', async (t: TestContext) => {
  // 10 × 4 MiB in 64 KiB reads: ten collections (allocation may add a few of V8's own, never fewer).
  const reads = (10 * YOUNG_GC_EVERY) / (64 * 1024);
  const counted = await youngCollections(() => {
    for (let k = 0; k < reads; k++) noteReceived(64 * 1024);
  });
  t.assert.ok(counted >= 10, `expected at least 10 young collections, saw ${counted}`);
});

test('noteReceived() collects nothing below 4 MiB', async (t: TestContext) => {
  noteReceived(YOUNG_GC_EVERY); // start from a fresh count
  const counted = await youngCollections(() => noteReceived(YOUNG_GC_EVERY / 2));
  t.assert.strictEqual(counted, 0);
});

test('noteReceived() runs one full collection once no data came for a while', async (t: TestContext) => {
  const { promise, resolve } = Promise.withResolvers<number>();
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      if (kindOf(e) === constants.NODE_PERFORMANCE_GC_MAJOR) resolve(performance.now());
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
