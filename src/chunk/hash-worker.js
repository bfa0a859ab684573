// @ts-check
/**
 * Worker thread of the buffer ring (ring.ts): computes the whole-file SHA-256 on the second core
 * from the ring's shared buffers, while the main thread hashes the chunk and keeps I/O in flight.
 *
 * Plain JavaScript on purpose: a .ts worker makes Node load its type stripper again inside the
 * worker (about 12 MB more peak memory and 25 ms more start-up per slice or merge).
 *
 * Besides the whole-file hash it can keep a range's hash (an upload's chunk hash), so the main thread,
 * which also runs TLS for every copy, hashes nothing: one pass over each slot feeds both.
 *
 * Protocol (in order, one message at a time): `{ slot, length, range? }` hashes the first `length`
 * bytes of that slot (into the range hash too when `range` is true) and answers `{ ack: slot }`;
 * `{ digest: true }` answers `{ digest: hex }` and starts a new whole-file hash; `{ rangeDigest: true }`
 * answers `{ range: hex }` and starts a new range hash; `{ reset: true }` (a ring given back to be
 * reused) starts both afresh without an answer. It never writes to the shared memory and never holds
 * a slot after its ack.
 */
import { createHash } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';

/**
 * @typedef {{ slot: number, length: number, range?: boolean } | { digest: true } | { rangeDigest: true }
 *   | { reset: true }} Request
 */

const port = parentPort;
if (port === null) throw new Error('hash-worker.js must run as a worker thread');
const { buffer, slotSize } = /** @type {{ buffer: SharedArrayBuffer, slotSize: number }} */ (workerData);
const memory = Buffer.from(buffer);
let hash = createHash('sha256');
let range = createHash('sha256');

port.on('message', (/** @type {Request} */ request) => {
  if ('reset' in request) {
    hash = createHash('sha256');
    range = createHash('sha256');
    return;
  }
  if ('rangeDigest' in request) {
    port.postMessage({ range: range.digest('hex') });
    range = createHash('sha256');
    return;
  }
  if ('digest' in request) {
    port.postMessage({ digest: hash.digest('hex') });
    hash = createHash('sha256');
    return;
  }
  const start = request.slot * slotSize;
  const piece = memory.subarray(start, start + request.length);
  hash.update(piece);
  if (request.range === true) range.update(piece);
  port.postMessage({ ack: request.slot });
});
