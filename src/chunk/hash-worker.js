// @ts-check
/**
 * Worker thread of the buffer ring (ring.ts): computes the whole-file SHA-256 on the second core
 * from the ring's shared buffers, while the main thread keeps I/O in flight.
 *
 * Plain JavaScript on purpose: a .ts worker makes Node load its type stripper again inside the
 * worker (about 12 MB more peak memory and 25 ms more start-up per slice or merge).
 *
 * Besides the whole-file hash it can keep a range's hash (an upload's chunk hash), so the main thread,
 * which also runs TLS for every copy, hashes nothing: one pass over each slot feeds both.
 *
 * One worker serves one ring (its memory given as workerData, lane 0), or several rings of a
 * HashThread (a batch's pool: one thread instead of one per ring), each a lane with its own memory
 * and its own two hashes. Protocol (in order, one message at a time; `lane` absent means 0):
 * `{ lane, buffer, slotSize }` adds a lane; `{ lane, slot, length, range?, whole? }` hashes the first
 * `length` bytes of that slot (into the range hash too when `range` is true; not into the whole-file
 * hash when `whole` is false: a download's chunk hash) and answers `{ lane, ack: slot }`;
 * `{ lane, digest: true }` answers `{ lane, digest: hex }` and starts a new whole-file hash;
 * `{ lane, rangeDigest: true }` answers `{ lane, range: hex }` and starts a new range hash;
 * `{ lane, reset: true }` (a ring given back to be reused) starts both afresh without an answer;
 * `{ lane, drop: true }` forgets the lane; `{ collect: true }` runs a full collection of this thread's heap
 * at once (the memory of the lanes dropped so far is freed) and answers `{ collected: true }`. It never
 * writes to the shared memory and never holds a slot after its ack.
 */
import { createHash } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { parentPort, workerData } from 'node:worker_threads';

/**
 * @typedef {{ lane?: number }} Lane
 * @typedef {Lane & ({ slot: number, length: number, range?: boolean, whole?: boolean } | { digest: true } | { rangeDigest: true }
 *   | { reset: true } | { drop: true } | { collect: true } | { buffer: SharedArrayBuffer, slotSize: number })} Request
 * @typedef {{ memory: Buffer, slotSize: number, hash: import('node:crypto').Hash, range: import('node:crypto').Hash }} LaneState
 */

const port = parentPort;
if (port === null) throw new Error('hash-worker.js must run as a worker thread');

/** @type {Map<number, LaneState>} */
const lanes = new Map();
/** @returns {LaneState} */
const newLane = (/** @type {SharedArrayBuffer} */ buffer, /** @type {number} */ slotSize) => ({
  memory: Buffer.from(buffer),
  slotSize,
  hash: createHash('sha256'),
  range: createHash('sha256'),
});
const first = /** @type {{ buffer?: SharedArrayBuffer, slotSize: number }} */ (workerData);
if (first.buffer !== undefined) lanes.set(0, newLane(first.buffer, first.slotSize));

/**
 * A dropped lane's shared memory is freed only once both threads have collected their handle on it,
 * and this thread allocates so little that its own collections are rare: a node that downloaded
 * file after file kept every dropped ring (2–8 MiB each) until this thread next collected. So one
 * full collection of this thread's small heap runs 1 s after the last drop. V8's `gc` extension is
 * turned on at run time (as src/young-gc.ts does); without it nothing happens.
 */
/** @type {((options: { type: 'major' }) => void) | undefined} */
let collect;
try {
  setFlagsFromString('--expose-gc');
  collect = runInNewContext('gc');
} catch {
  collect = undefined;
}
/** @type {NodeJS.Timeout | undefined} */
let collecting;
function collectSoon() {
  if (collect === undefined) return;
  if (collecting !== undefined) {
    collecting.refresh();
    return;
  }
  collecting = setTimeout(() => {
    collecting = undefined;
    collect?.({ type: 'major' });
  }, 1_000);
  collecting.unref();
}

port.on('message', (/** @type {Request} */ request) => {
  const id = request.lane ?? 0;
  if ('buffer' in request) {
    lanes.set(id, newLane(request.buffer, request.slotSize));
    return;
  }
  if ('drop' in request) {
    lanes.delete(id);
    collectSoon();
    return;
  }
  if ('collect' in request) {
    clearTimeout(collecting);
    collecting = undefined;
    collect?.({ type: 'major' });
    port.postMessage({ collected: true });
    return;
  }
  const lane = lanes.get(id);
  if (lane === undefined) throw new Error(`hash-worker.js has no lane ${id}`);
  if ('reset' in request) {
    lane.hash = createHash('sha256');
    lane.range = createHash('sha256');
    return;
  }
  if ('rangeDigest' in request) {
    port.postMessage({ lane: id, range: lane.range.digest('hex') });
    lane.range = createHash('sha256');
    return;
  }
  if ('digest' in request) {
    port.postMessage({ lane: id, digest: lane.hash.digest('hex') });
    lane.hash = createHash('sha256');
    return;
  }
  const start = request.slot * lane.slotSize;
  const piece = lane.memory.subarray(start, start + request.length);
  if (request.whole !== false) lane.hash.update(piece);
  if (request.range === true) lane.range.update(piece);
  port.postMessage({ lane: id, ack: request.slot });
});
