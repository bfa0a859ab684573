/**
 * Memory that starts on a page boundary, which O_DIRECT needs (writer.ts). JavaScript cannot see an
 * address: a Buffer from Buffer.alloc* lives wherever malloc put it (a large one usually 16 bytes past
 * a page boundary). WebAssembly memory is mapped page by page, so it starts on one; such memory is
 * recorded here when it is made, and only recorded memory is ever written direct.
 */
import { statfs } from 'node:fs/promises';
import { isProgrammingError } from '../errors.ts';

/**
 * File systems on a local disk, by their statfs type (linux/magic.h): the only ones arozdfs writes
 * or reads with O_DIRECT. Elsewhere direct I/O is refused (FUSE, tmpfs before Linux 6.6), or it
 * works but costs more than it saves: on NFS or SMB each direct write is a synchronous round trip
 * to the server, where a buffered file is written back in the background.
 */
const LOCAL_DISK_FILE_SYSTEMS = new Set([
  0xef53, // ext2, ext3, ext4
  0x58465342, // xfs
  0x9123683e, // btrfs
  0xf2f52010, // f2fs
  0x2fc12fc1, // zfs
  0xca451a4e, // bcachefs
  0x3153464a, // jfs
]);

/** True when `path` (a file or folder) is on a local disk file system, where O_DIRECT is used. */
export async function onLocalDisk(path: string): Promise<boolean> {
  try {
    return LOCAL_DISK_FILE_SYSTEMS.has((await statfs(path)).type);
  } catch (err) {
    if (isProgrammingError(err)) throw err;
    return false;
  }
}

/** The alignment O_DIRECT needs of memory, positions and lengths (a 512 B or 4 KiB block device). */
export const PAGE_SIZE = 4096;
const WASM_PAGE = 65536;

const pageAligned = new WeakSet<ArrayBufferLike>();

/** Records that `memory` starts on a page boundary (WebAssembly memory does: the ring's, ring.ts). */
export function markPageAligned(memory: ArrayBufferLike): void {
  pageAligned.add(memory);
}

/** True when `data` starts on a 4 KiB boundary of memory recorded as page-aligned. */
export function isPageAligned(data: Uint8Array): boolean {
  return data.byteOffset % PAGE_SIZE === 0 && pageAligned.has(data.buffer);
}

/**
 * `count` buffers of `size` bytes (a multiple of 4 KiB) side by side in one block of WebAssembly
 * memory, so each may be written with O_DIRECT. The block is freed once none of its buffers is
 * referenced. Without WebAssembly (node --jitless) the block is an ordinary buffer, written buffered.
 */
export function alignedBuffers(count: number, size: number): Buffer[] {
  if (!Number.isInteger(size) || size <= 0 || size % PAGE_SIZE !== 0) {
    throw new RangeError('An aligned buffer is a whole number of 4 KiB pages');
  }
  if (count === 0) return [];
  let block: Buffer;
  if (typeof WebAssembly === 'undefined') {
    block = Buffer.allocUnsafeSlow(count * size);
  } else {
    const pages = Math.max(1, Math.ceil((count * size) / WASM_PAGE));
    const memory = new WebAssembly.Memory({ initial: pages, maximum: pages }).buffer;
    markPageAligned(memory);
    block = Buffer.from(memory);
  }
  return Array.from({ length: count }, (_, i) => block.subarray(i * size, (i + 1) * size));
}
