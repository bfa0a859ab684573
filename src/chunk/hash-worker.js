// @ts-check
/**
 * Worker thread of the buffer ring (ring.ts): computes the whole-file SHA-256 on the second core
 * from the ring's shared buffers, while the main thread hashes the chunk and keeps I/O in flight.
 *
 * Plain JavaScript on purpose: a .ts worker makes Node load its type stripper again inside the
 * worker (about 12 MB more peak memory and 25 ms more start-up per slice or merge).
 *
 * One worker serves one ring (its memory given as workerData, lane 0), or several rings of a
 * HashThread (a batch's pool: one thread instead of one per ring), each a lane with its own memory
 * and its own hash. Protocol (in order, one message at a time; `lane` absent means 0):
 * `{ lane, buffer, slotSize }` adds a lane; `{ lane, slot, length }` hashes the first `length` bytes
 * of that slot and answers `{ lane, ack: slot }`; `{ lane, digest: true }` answers
 * `{ lane, digest: hex }` and starts a new hash; `{ lane, reset: true }` (a ring given back to be
 * reused) starts a new hash without an answer; `{ lane, drop: true }` forgets the lane. It never
 * writes to the shared memory and never holds a slot after its ack.
 */
import { createHash } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';

/**
 * @typedef {{ lane?: number }} Lane
 * @typedef {Lane & ({ slot: number, length: number } | { digest: true } | { reset: true } | { drop: true } | { buffer: SharedArrayBuffer, slotSize: number })} Request
 */

const port = parentPort;
if (port === null) throw new Error('hash-worker.js must run as a worker thread');

/** @type {Map<number, { memory: Buffer, slotSize: number, hash: import('node:crypto').Hash }>} */
const lanes = new Map();
const first = /** @type {{ buffer?: SharedArrayBuffer, slotSize: number }} */ (workerData);
if (first.buffer !== undefined) {
  lanes.set(0, { memory: Buffer.from(first.buffer), slotSize: first.slotSize, hash: createHash('sha256') });
}

port.on('message', (/** @type {Request} */ request) => {
  const id = request.lane ?? 0;
  if ('buffer' in request) {
    lanes.set(id, {
      memory: Buffer.from(request.buffer),
      slotSize: request.slotSize,
      hash: createHash('sha256'),
    });
    return;
  }
  if ('drop' in request) {
    lanes.delete(id);
    return;
  }
  const lane = lanes.get(id);
  if (lane === undefined) throw new Error(`hash-worker.js has no lane ${id}`);
  if ('reset' in request) {
    lane.hash = createHash('sha256');
    return;
  }
  if ('digest' in request) {
    port.postMessage({ lane: id, digest: lane.hash.digest('hex') });
    lane.hash = createHash('sha256');
    return;
  }
  const start = request.slot * lane.slotSize;
  lane.hash.update(lane.memory.subarray(start, start + request.length));
  port.postMessage({ lane: id, ack: request.slot });
});
