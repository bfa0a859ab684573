// @ts-check
/**
 * Loaded into each node process by `bench/cluster.ts` (`node --import bench/memory-report.js …`): on
 * SIGUSR2 the process writes `process.memoryUsage()` to `$AROZDFS_BENCH_MEMORY_DIR/<pid>.json`, so
 * the benchmark can say where its memory is — V8's heap, Buffers (array buffers), or native memory
 * (the rest of the RSS: OpenSSL, nghttp2, the allocator's free lists, the executable's pages) — and
 * how many garbage collections of each kind ran so far and for how long (`gc`: kind → [count, ms];
 * `phaseGc`: the same since the previous report),
 * and the event loop's delay since the previous report (`loop`: p50, p99, max in ms; the histogram
 * starts again after each report, so each phase gets its own).
 *
 * Plain JavaScript on purpose: a .ts preload made every node process and every worker thread it
 * starts (`--import` is inherited) load Node's type stripper, which the daemons run through
 * bin/arozdfs.js never do — about 6 % of a receiver's sampled time and megabytes of RSS that a real
 * node does not have. Measurement aid only; nothing in src/ loads it.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { constants, monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { isMainThread } from 'node:worker_threads';

const dir = process.env['AROZDFS_BENCH_MEMORY_DIR'];
if (dir !== undefined && isMainThread) {
  /** @type {Record<number, string>} */
  const names = {
    [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
    [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
    [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
    [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
  };
  /** @type {Record<string, [number, number]>} */
  const gc = {};
  /** The same since the previous report. @type {Record<string, [number, number]>} */
  const phaseGc = {};
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const detail = /** @type {{ detail?: { kind?: number } }} */ (entry).detail;
      const kind = names[detail?.kind ?? -1] ?? 'other';
      const seen = gc[kind] ?? [0, 0];
      seen[0]++;
      seen[1] += entry.duration;
      gc[kind] = seen;
      const phase = phaseGc[kind] ?? [0, 0];
      phase[0]++;
      phase[1] += entry.duration;
      phaseGc[kind] = phase;
    }
  }).observe({ entryTypes: ['gc'] });
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const ms = (/** @type {number} */ ns) => Math.round(ns / 1e4) / 100;
  process.on('SIGUSR2', () => {
    const delay = { p50: ms(loop.percentile(50)), p99: ms(loop.percentile(99)), max: ms(loop.max) };
    loop.reset();
    writeFileSync(
      join(dir, `${process.pid}.json`),
      JSON.stringify({ ...process.memoryUsage(), gc, phaseGc, loop: delay }),
    );
    for (const kind of Object.keys(phaseGc)) delete phaseGc[kind];
  });
}
