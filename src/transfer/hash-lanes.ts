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

/** How long the thread waits, unused, for the next transfer before it stops. */
const IDLE_MS = 10_000;

let thread: HashThread | undefined;
let lanes = 0;
let idleTimer: NodeJS.Timeout | undefined;

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

/** Closes a ring from laneRing; the thread stops once no lane was open for 10 s. */
export async function dropLaneRing(ring: BufferRing): Promise<void> {
  try {
    await ring.close();
  } finally {
    if (--lanes === 0) {
      const idle = thread;
      idleTimer = setTimeout(() => {
        idleTimer = undefined;
        if (thread !== idle || lanes > 0) return;
        thread = undefined;
        void idle?.close();
      }, IDLE_MS);
      idleTimer.unref();
    }
  }
}
