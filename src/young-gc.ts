/**
 * Gives back the memory of received network data as it goes, instead of in bursts.
 *
 * Node hands every piece read from a socket (TLS, HTTP/2) to JavaScript in a fresh Buffer. Our
 * receive paths copy each piece into a reused buffer at once, so the Buffer dies young. Its memory
 * lives outside the JavaScript heap, though: it is freed only when V8 collects the small object that
 * points at it, and the heap fills so slowly during a transfer that the collector runs rarely. The
 * dead pieces then pile up in the malloc heap (tens of MiB at a few hundred MB/s) until V8's
 * external-memory limit starts a full collection, which costs far more CPU than a young one.
 *
 * `noteReceived(bytes)` counts the bytes of network data handed to JavaScript and runs a young
 * collection (a scavenge: well under a millisecond when little is alive) after every 4 MiB. Measured
 * on the node API receiving 1 GiB (bench:transport): peak RSS above ready 73 → 14 MiB, with no more
 * CPU. The collector is reached through V8's `gc` extension, turned on at run time the first time it
 * is needed (the same way leak detectors do it); where that is not possible nothing happens and the
 * program works as before, only with more memory.
 */
import { performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { MiB } from './index-file/types.ts';

/** Network bytes between two young collections (docs/architecture.md, "Memory"). */
export const YOUNG_GC_EVERY = 4 * MiB;

/** V8's `gc` extension; the `last-resort` flavour is the collection V8 runs under memory pressure. */
type Collect = (options: {
  type: 'minor' | 'major';
  execution?: 'sync' | 'async';
  flavor?: 'regular' | 'last-resort';
}) => void;

/** The collector: undefined until first needed, null when it cannot be had. */
let collect: Collect | null | undefined;
let received = 0;

function collector(): Collect | null {
  if (collect !== undefined) return collect;
  collect = null;
  try {
    const existing: unknown = (globalThis as { gc?: unknown }).gc;
    if (typeof existing === 'function') {
      collect = existing as Collect;
    } else {
      setFlagsFromString('--expose-gc');
      const fresh: unknown = runInNewContext('gc');
      if (typeof fresh === 'function') collect = fresh as Collect;
    }
  } catch {
    collect = null; // a runtime without the extension: keep working, only with more memory
  }
  return collect;
}

/** Quiet time after the last received bytes (or a job's end) before the settling collection. */
export const SETTLE_MS = 2_000;
let settle: NodeJS.Timeout | undefined;
/** The event loop's utilization when the settling timer was last set. */
let since = performance.eventLoopUtilization();

/**
 * Counts `bytes` of network data handed to JavaScript; after every 4 MiB, one young collection. Once
 * no data came for 2 s (a transfer ended), one settling collection gives back what the transfer left.
 */
export function noteReceived(bytes: number): void {
  received += bytes;
  settleLater();
  if (received < YOUNG_GC_EVERY) return;
  received = 0;
  collector()?.({ type: 'minor' });
}

/**
 * Work that leaves garbage behind happened (a bulk read's piece, any network data, a job's end, a
 * pool letting its buffers go, the daemon's start): once 2 s pass without more, one settling
 * collection. It is V8's memory-reducing full collection (the `last-resort` flavour, what V8 runs
 * under memory pressure): it also compacts the old generation and releases the pages it no longer
 * needs, where a plain full collection keeps them for later. An idle daemon kept 8–9 MiB more
 * without it (docs/transfer.md, "Memory"); a bulk download left alpha with 83 MiB of heap with no
 * collection at all. It stops the main thread for tens of milliseconds, so it runs only on a quiet
 * node: while the event loop was busy for more than a tenth of the last 2 s (an upload sends and
 * receives nothing that would put the timer off), it waits another 2 s.
 */
export function settleLater(): void {
  // The busy share is judged over the 2 s before the timer fires: since its last refresh.
  since = performance.eventLoopUtilization();
  if (settle !== undefined) {
    settle.refresh();
    return;
  }
  const fire = () => {
    const now = performance.eventLoopUtilization();
    const busy = performance.eventLoopUtilization(now, since).utilization;
    since = now;
    if (busy > QUIET_UTILIZATION) {
      settle = setTimeout(fire, SETTLE_MS);
      settle.unref();
      return;
    }
    settle = undefined;
    collectNow(true);
  };
  settle = setTimeout(fire, SETTLE_MS);
  settle.unref();
}

/**
 * A full collection, now (`reduce`: the settling collection, which also compacts and gives back pages;
 * else a plain one, which frees dead buffers for a shorter pause). Memory let go on purpose (idle
 * buffers given up as another kind of transfer starts, src/buffer-pool.ts) is then freed at once.
 */
export function collectNow(reduce = false): void {
  collector()?.({ type: 'major', execution: 'sync', ...(reduce ? { flavor: 'last-resort' as const } : {}) });
}

/**
 * Jobs and batch files finished between two full collections. Each leaves garbage that outlives the
 * young collections (its index, statements, promises, records), and V8 lets the old generation grow
 * to a few times what is alive before it collects, while a node kept busy never gets quiet enough for
 * the settling collection: over a download batch of 4,000 files of 20–50 KiB the downloader's heap
 * grew from 25 to 59 MiB, over 300 lone upload jobs the uploader's from 17 to 37. A plain full
 * collection every 250 (a few ms with some 20 MiB alive) kept the batch's at 24–27 MiB, its peak RSS
 * 160 → 132–147 MiB, at the same files/s and CPU (docs/transfer.md, "Many small files" and "Jobs
 * one after another, and rings let go").
 */
export const COLLECT_EVERY_FINISHED = 250;
let finished = 0;

/** A job or a batch's file finished (done or failed): every COLLECT_EVERY_FINISHED, one full collection. */
export function countFinished(): void {
  if (++finished % COLLECT_EVERY_FINISHED === 0) collectNow();
}

/** The event loop's busy share, over the last quiet time, above which the node is not quiet. */
export const QUIET_UTILIZATION = 0.1;
