/**
 * A batch's pool of buffer rings (src/node/batch-jobs.ts), lent to its files' uploads and downloads.
 */
import { type BufferRing, SLOT_SIZE } from '../chunk/ring.ts';
import { dropLaneRing, laneRing } from './hash-lanes.ts';
import type { RingLender } from './types.ts';

/**
 * The batch's buffer rings: made at most once per file in flight per batch instead of once per file,
 * and all hashing on the node's one hashing thread (src/transfer/hash-lanes.ts; a thread costs tens
 * of ms to start and 12–20 MiB resident: six of them were most of what a batch added to the
 * uploader's RSS). A ring that saw a failure is closed, not lent again. The pool holds, of each
 * shape, at most as many rings as the batch had in use at once (an upload batch: BATCH_PARALLEL
 * rings; a download batch: a read-back ring per file and a ring per fetch worker). A download batch
 * that made a fresh fetch ring per file instead let each go to be freed by a full collection, which
 * the main thread runs rarely: the downloader's RSS rose by about 100 MiB over 1,000 files
 * (docs/transfer.md, "Batches").
 */
export class RingPool implements RingLender {
  #free = new Map<string, BufferRing[]>();

  borrow(slots: number, slotSize = SLOT_SIZE): BufferRing {
    return this.#free.get(`${slots}x${slotSize}`)?.pop() ?? laneRing(slots, slotSize);
  }

  async giveBack(ring: BufferRing, clean: boolean): Promise<void> {
    if (!clean) return await dropLaneRing(ring);
    const shape = `${ring.slotCount}x${ring.slotSize}`;
    const list = this.#free.get(shape) ?? [];
    list.push(ring);
    this.#free.set(shape, list);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    const rings = [...this.#free.values()].flat();
    this.#free.clear();
    await Promise.all(rings.map((r) => dropLaneRing(r)));
  }
}
