/**
 * One hashing thread for the node's transfers: each single-file upload's ring (its chunk and file
 * hashes), each download's ordered ring (the whole-file hash) and each fetch worker's 2-slot ring (a
 * downloaded chunk's hash) are lanes of one HashThread (src/chunk/ring.ts). The main thread, which
 * runs TLS for every stream, then only moves bytes; and a job adds no thread of its own: a worker
 * thread costs 12–20 MiB of RSS here, and glibc keeps part of it after the thread ends, so a thread
 * per job used to make a node's memory creep. The thread starts with the first lane and stops 10 s
 * after the last one closed; it is unref'd, so it never keeps a process alive.
 */
import { BufferRing, HashThread } from '../chunk/ring.ts';
import { collectNow } from '../young-gc.ts';

/** How long the thread waits, unused, for the next transfer before it stops. */
const IDLE_MS = 10_000;

let thread: HashThread | undefined;
let lanes = 0;
let idleTimer: NodeJS.Timeout | undefined;

/**
 * Bytes of dropped rings after which both threads run a full collection. A ring's memory is shared
 * between the threads and freed only once each has collected its handle on it, and V8 does not count
 * it as memory that calls for a collection: a node that ran 300 upload jobs of 2 MiB files, each
 * with a fresh 4 MiB ring, grew to 758 MiB of RSS with its heap at 40 MiB; with this, 128–147 MiB
 * (docs/transfer.md, "Jobs one after another, and rings let go"). Rings are reused where they can be
 * (src/transfer/ring-pool.ts), so few are dropped.
 */
const COLLECT_AFTER_DROPPED = 32 * 1024 * 1024;
let dropped = 0;

/** A ring of `slotCount` slots whose hashing runs on the shared thread; give it back with dropLaneRing. */
export function laneRing(slotCount: number, slotSize: number): BufferRing {
  clearTimeout(idleTimer);
  idleTimer = undefined;
  if (thread?.stopped === true) thread = undefined; // it died: its lanes failed, new ones get a new thread
  thread ??= new HashThread({ unref: true });
  const ring = new BufferRing(slotCount, slotSize, thread);
  lanes++;
  return ring;
}

/** A full collection on the hash thread, if one runs: the memory of dropped rings is freed. */
export async function collectLanes(): Promise<void> {
  await thread?.collect();
}

/**
 * Closes a ring from laneRing; the thread stops once no lane was open for 10 s, or at once when
 * `idle` (the ring itself waited 10 s unused in IdleRings, ring-pool.ts: the node has been idle that
 * long already).
 */
export async function dropLaneRing(ring: BufferRing, idle = false): Promise<void> {
  try {
    await ring.close();
  } finally {
    dropped += ring.slotCount * ring.slotSize;
    if (dropped >= COLLECT_AFTER_DROPPED) {
      dropped = 0;
      // The hash thread first: its collection lets go of its handles, the main thread's frees.
      void collectLanes().then(() => collectNow());
    }
    if (--lanes === 0) {
      const last = thread;
      clearTimeout(idleTimer);
      idleTimer = setTimeout(
        () => {
          idleTimer = undefined;
          if (thread !== last || lanes > 0) return;
          thread = undefined;
          void last?.close();
        },
        idle ? 0 : IDLE_MS,
      );
      idleTimer.unref();
    }
  }
}
