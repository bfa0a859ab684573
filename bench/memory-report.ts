/**
 * Loaded into each node process by `bench/cluster.ts` (`node --import bench/memory-report.ts …`): on
 * SIGUSR2 the process writes `process.memoryUsage()` to `$AROZDFS_BENCH_MEMORY_DIR/<pid>.json`, so
 * the benchmark can say where its memory is — V8's heap, Buffers (array buffers), or native memory
 * (the rest of the RSS: OpenSSL, nghttp2, the allocator's free lists, the executable's pages) — and
 * how many garbage collections of each kind ran so far and for how long (`gc`: kind → [count, ms]).
 * Measurement aid only; nothing in src/ loads it.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { constants, PerformanceObserver } from 'node:perf_hooks';

const dir = process.env['AROZDFS_BENCH_MEMORY_DIR'];
if (dir !== undefined) {
  const names: Record<number, string> = {
    [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
    [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
    [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
    [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
  };
  const gc: Record<string, [number, number]> = {};
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const detail = (entry as PerformanceEntry & { detail?: { kind?: number } }).detail;
      const kind = names[detail?.kind ?? -1] ?? 'other';
      const seen = gc[kind] ?? [0, 0];
      seen[0]++;
      seen[1] += entry.duration;
      gc[kind] = seen;
    }
  }).observe({ entryTypes: ['gc'] });
  process.on('SIGUSR2', () => {
    writeFileSync(join(dir, `${process.pid}.json`), JSON.stringify({ ...process.memoryUsage(), gc }));
  });
}
