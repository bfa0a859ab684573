import { constants, type PerformanceEntry, PerformanceObserver } from 'node:perf_hooks';
import { type TestContext, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { getHeapStatistics } from 'node:v8';
import { MiB } from '../src/index-file/types.ts';
import {
  COLLECT_EVERY_FINISHED,
  countFinished,
  noteReceived,
  SETTLE_MS,
  YOUNG_GC_EVERY,
} from '../src/young-gc.ts';

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

test('2 s after the last received data, one memory-reducing collection gives the heap back', async (t: TestContext) => {
  // A fragmented old generation: 600,000 objects, of which every 20th stays alive. A plain full
  // collection frees the dead ones but keeps their pages (checked: 127 → 127 MiB physical); the
  // memory-reducing one compacts the survivors and releases the pages (126 → 93 MiB).
  const kept = fragmentedHeap();
  const before = getHeapStatistics().total_physical_size;
  // The physical size right after the first full collection at the end of the quiet time: V8's
  // own memory reducer may shrink the heap later on, so later collections do not count.
  const { promise, resolve } = Promise.withResolvers<{ at: number; physical: number }>();
  let last = performance.now();
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const kind = (e as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind;
      if (kind !== constants.NODE_PERFORMANCE_GC_MAJOR || e.startTime < last + SETTLE_MS - 50) continue;
      resolve({ at: e.startTime, physical: getHeapStatistics().total_physical_size });
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  const deadline = setTimeout(() => resolve({ at: Number.NaN, physical: before }), SETTLE_MS + 30_000);
  t.after(() => {
    observer.disconnect();
    clearTimeout(deadline);
  });
  last = performance.now();
  noteReceived(1);
  const { at, physical } = await promise;
  t.assert.ok(!Number.isNaN(at), 'a full collection came after the quiet time');
  t.assert.ok(
    physical < before - 16 * MiB,
    `it gave the heap back: ${mib(before)} → ${mib(physical)} MiB physical`,
  );
  t.assert.strictEqual(kept.length, 30_000); // the survivors are still there
});

function mib(bytes: number): string {
  return (bytes / MiB).toFixed(1);
}

/** 600,000 objects made, every 20th kept: a fragmented old generation (see the test above). */
function fragmentedHeap(): object[] {
  const all: object[] = [];
  for (let i = 0; i < 600_000; i++) all.push({ a: i, b: [i, i + 1, i + 2], c: `x${i}` });
  return all.filter((_, i) => i % 20 === 0);
}

test('the settling collection waits while the event loop is busy, and comes once it is quiet', async (t: TestContext) => {
  const kept = fragmentedHeap();
  const before = getHeapStatistics().total_physical_size;
  const given = () => getHeapStatistics().total_physical_size < before - 16 * MiB;
  noteReceived(1);
  // Busy for three quiet times: 15 ms of work in every 20 ms (an upload keeps the loop about as busy).
  const spin = setInterval(() => {
    const end = performance.now() + 15;
    while (performance.now() < end) {}
  }, 20);
  const spinning = Date.now() + 3 * SETTLE_MS;
  while (Date.now() < spinning) await delay(50);
  clearInterval(spin);
  t.assert.ok(!given(), 'no memory-reducing collection while busy');
  const quiet = Date.now();
  const deadline = quiet + 30_000;
  while (!given() && Date.now() < deadline) await delay(50);
  t.assert.ok(
    given(),
    `it came once quiet (${mib(before)} → ${mib(getHeapStatistics().total_physical_size)} MiB)`,
  );
  t.assert.strictEqual(kept.length, 30_000);
});

test('every 250 finished jobs or batch files, one forced full collection', async (t: TestContext) => {
  const seen: PerformanceEntry[] = [];
  const observer = new PerformanceObserver((list) => seen.push(...list.getEntries()));
  observer.observe({ entryTypes: ['gc'] });
  t.after(() => observer.disconnect());
  for (let k = 0; k < COLLECT_EVERY_FINISHED; k++) countFinished();
  const major = () => seen.some((e) => forced(e, constants.NODE_PERFORMANCE_GC_MAJOR));
  // GC entries are delivered asynchronously: wait for them on the event loop, not on time.
  for (let turns = 0; turns < 50 && !major(); turns++) await new Promise(setImmediate);
  t.assert.ok(major(), 'a forced full collection');
});
