/**
 * Duplicate identities: two machines running under one node UUID and key at the same time (a cloned
 * disk, a restored backup started beside the original). Each run signs its records with a random
 * per-boot `instance`, and `seq` is persisted and strictly increasing in one home, so the seqs of
 * successive runs of one home never interleave: each run owns a later range. Two instances whose seq
 * ranges overlap were therefore issuing records at the same time from two copies of the home — a
 * duplicate. Relayed old records arriving late or out of order stay inside their run's range and are
 * never flagged. Pure; bounded to a few instances per node.
 */
import type { AddressRecord } from './address-record.ts';

export const MAX_INSTANCES_PER_NODE = 4;

export interface DuplicateIdentity {
  node: string;
  /** The instances seen running at once (the one that spoke last first). */
  instances: string[];
  detectedAt: number;
}

/** Watches one node's records for two runs at once. */
export class DuplicateWatch {
  /** Per instance, the lowest and highest seq seen; most recently heard last. */
  #ranges = new Map<string, { min: number; max: number }>();
  /** The latest detection, if any. */
  current: DuplicateIdentity | undefined;

  /** Records `record` (already verified); returns the duplicate it reveals, if it reveals one. */
  observe(record: AddressRecord, now: number): DuplicateIdentity | undefined {
    const range = this.#ranges.get(record.instance) ?? { min: record.seq, max: record.seq };
    range.min = Math.min(range.min, record.seq);
    range.max = Math.max(range.max, record.seq);
    this.#ranges.delete(record.instance);
    const others = [...this.#ranges]
      .filter(([, other]) => range.min <= other.max && other.min <= range.max)
      .map(([instance]) => instance);
    this.#ranges.set(record.instance, range);
    while (this.#ranges.size > MAX_INSTANCES_PER_NODE) {
      const oldest = this.#ranges.keys().next().value;
      if (oldest === undefined) break;
      this.#ranges.delete(oldest);
    }
    if (others.length === 0) return undefined;
    this.current = { node: record.node, instances: [record.instance, ...others], detectedAt: now };
    return this.current;
  }
}

/**
 * True when a record signed with this node's own key comes from another run of this node that is
 * alive now: another instance, with a seq above the first seq this run issued (earlier runs only ever
 * issued lower ones, since seq is persisted and strictly increasing).
 */
export function isDuplicateOfSelf(
  record: AddressRecord,
  self: { uuid: string; instance: string; firstSeq: number },
): boolean {
  return record.node === self.uuid && record.instance !== self.instance && record.seq > self.firstSeq;
}
