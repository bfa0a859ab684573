/**
 * Space reserved by puts in progress. A put reserves its whole declared size when it begins (so a
 * full store answers 507 before any body byte); the reservation is released when the put commits
 * or fails. `written` tracks bytes already on the disk, which `statfs` already counts as used.
 * Stores on one filesystem share its free space: their reservations join one `Filesystem` (by the
 * device number of the store folder), so a put in one store lowers the free space of the others,
 * and `nodeFree` counts the free space of each filesystem once.
 */
import type { StoreStatus } from './types.ts';

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
  #filesystem: Filesystem | undefined;

  /** The filesystem this store's folder is on now (its other stores' reservations count too). */
  joinFilesystem(device: string): void {
    if (this.#filesystem?.device === device) return;
    this.leaveFilesystem();
    let fs = filesystems.get(device);
    if (fs === undefined) {
      fs = new Filesystem(device);
      filesystems.set(device, fs);
    }
    fs.members.add(this);
    this.#filesystem = fs;
  }

  /** Idempotent (a closed store). */
  leaveFilesystem(): void {
    const fs = this.#filesystem;
    if (fs === undefined) return;
    fs.members.delete(this);
    if (fs.members.size === 0) filesystems.delete(fs.device);
    this.#filesystem = undefined;
  }

  /** The reservations of every store on this store's filesystem (just this one when unknown). */
  get sharing(): Iterable<Reservations> {
    return this.#filesystem?.members ?? [this];
  }

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
/** The stores of this process on one filesystem, by device number. */
class Filesystem {
  readonly device: string;
  readonly members = new Set<Reservations>();
  constructor(device: string) {
    this.device = device;
  }
}
const filesystems = new Map<string, Filesystem>();

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
    free = Math.min(free, diskBytes(input.diskFree, reservations, overhead));
  }
  return Math.max(0, free);
}

/**
 * What the filesystem under a store can still take: statfs's free bytes minus what the puts of every
 * store on it (this one included) have reserved and not yet written, and their allowances.
 */
export function diskBytes(diskFree: number, reservations: Reservations, overhead = 0): number {
  let pending = 0;
  let count = 0;
  for (const r of reservations.sharing) {
    pending += r.pending;
    count += r.count;
  }
  return Math.max(0, diskFree - pending - overhead * (count + 1));
}

/**
 * A node's free space with each filesystem counted once: stores that name the same `filesystem`
 * share its free bytes, so together they offer the sum of their own `free` but never more than the
 * filesystem holds. Stores without a filesystem (memory stores, older peers) count alone.
 */
export function nodeFree(stores: readonly Pick<StoreStatus, 'online' | 'free' | 'filesystem'>[]): number {
  const groups = new Map<string, { sum: number; disk: number }>();
  let total = 0;
  for (const s of stores) {
    if (!s.online) continue;
    if (s.filesystem === undefined) {
      total += s.free;
      continue;
    }
    const g = groups.get(s.filesystem.id) ?? { sum: 0, disk: Number.MAX_SAFE_INTEGER };
    g.sum += s.free;
    g.disk = Math.min(g.disk, s.filesystem.free);
    groups.set(s.filesystem.id, g);
  }
  for (const g of groups.values()) total += Math.min(g.sum, g.disk);
  return total;
}
