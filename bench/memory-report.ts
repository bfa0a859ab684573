/**
 * Loaded into each node process by `bench/cluster.ts` (`node --import bench/memory-report.ts …`): on
 * SIGUSR2 the process writes `process.memoryUsage()` to `$AROZDFS_BENCH_MEMORY_DIR/<pid>.json`, so
 * the benchmark can say where its memory is — V8's heap, Buffers (array buffers), or native memory
 * (the rest of the RSS: OpenSSL, nghttp2, the allocator's free lists, the executable's pages).
 * Measurement aid only; nothing in src/ loads it.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.env['AROZDFS_BENCH_MEMORY_DIR'];
if (dir !== undefined) {
  process.on('SIGUSR2', () => {
    writeFileSync(join(dir, `${process.pid}.json`), JSON.stringify(process.memoryUsage()));
  });
}
