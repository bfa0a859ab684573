/**
 * Space reserved by puts in progress. A put reserves its whole declared size when it begins (so a
 * full store answers 507 before any body byte); the reservation is released when the put commits
 * or fails. `written` tracks bytes already on the disk, which `statfs` already counts as used.
 */

export class Reservation {
  readonly size: number;
  /** Bytes of this put already written to its temp file. */
  written = 0;
  #owner: Reservations;
  #released = false;

  constructor(owner: Reservations, size: number) {
    this.#owner = owner;
    this.size = size;
  }

  /** Idempotent. */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    this.#owner.drop(this);
  }
}

export class Reservations {
  #open = new Set<Reservation>();

  reserve(size: number): Reservation {
    const r = new Reservation(this, size);
    this.#open.add(r);
    return r;
  }

  drop(r: Reservation): void {
    this.#open.delete(r);
  }

  get count(): number {
    return this.#open.size;
  }

  /** Sum of reserved sizes: what counts against a store limit. */
  get reserved(): number {
    let sum = 0;
    for (const r of this.#open) sum += r.size;
    return sum;
  }

  /** Bytes reserved but not yet written: what the filesystem's free space does not show yet. */
  get pending(): number {
    let sum = 0;
    for (const r of this.#open) sum += r.size - r.written;
    return sum;
  }
}

/**
 * Free bytes for a new chunk: below the limit (used + reserved ≤ limit) and on the filesystem
 * (minus pending bytes and a per-put allowance for the sidecar and block rounding).
 */
export function freeBytes(input: {
  limit: number | undefined;
  used: number;
  reservations: Reservations;
  /** Bytes the filesystem offers (statfs bavail × bsize); undefined for memory stores. */
  diskFree?: number;
  /** Allowance per chunk for metadata and rounding on the filesystem. */
  overhead?: number;
}): number {
  const { limit, used, reservations } = input;
  let free = limit === undefined ? Number.MAX_SAFE_INTEGER : limit - used - reservations.reserved;
  if (input.diskFree !== undefined) {
    const overhead = input.overhead ?? 0;
    const disk = input.diskFree - reservations.pending - overhead * (reservations.count + 1);
    free = Math.min(free, disk);
  }
  return Math.max(0, free);
}
