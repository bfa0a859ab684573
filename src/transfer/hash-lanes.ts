/**
 * One hashing thread for every download on this node: each fetch worker's 2-slot ring (the chunk
 * hashes) and each download's ordered ring (the whole-file hash) are lanes of one HashThread
 * (src/chunk/ring.ts). The downloader's main thread, which also decrypts TLS for every stream, then
 * only copies and writes; a download adds no thread of its own (a thread with its own isolate costs
 * several MiB). Started with the first lane, stopped with the last; unref'd, so it never keeps a
 * process alive.
 */
import { BufferRing, HashThread } from '../chunk/ring.ts';

let thread: HashThread | undefined;
let lanes = 0;

/** A ring of `slotCount` slots whose hashing runs on the shared thread; give it back with dropLaneRing. */
export function laneRing(slotCount: number, slotSize: number): BufferRing {
  thread ??= new HashThread({ unref: true });
  const ring = new BufferRing(slotCount, slotSize, thread);
  lanes++;
  return ring;
}

/** Closes a ring from laneRing; the thread stops when no lane is left. */
export async function dropLaneRing(ring: BufferRing): Promise<void> {
  try {
    await ring.close();
  } finally {
    if (--lanes === 0) {
      const last = thread;
      thread = undefined;
      await last?.close();
    }
  }
}
