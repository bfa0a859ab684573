/**
 * Helpers of the task and scrub tests: a chunk put straight into a daemon's stores (seeded bytes),
 * where its file lies on disk, flipping one of its bytes, and a TaskPeer that reaches one node of the
 * testnet through another node's peer pool.
 */
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import type { TaskPeer } from '../../src/transport/tasks.ts';
import { newUuid } from '../../src/uuid.ts';
import { testBytes } from '../helpers/random.ts';
import type { TestNode } from '../helpers/testnet.ts';

export interface PutChunk {
  uuid: string;
  sha256: string;
  size: number;
}

const PIECE = 1024 * 1024;

/** Stores `size` seeded bytes as a new chunk on `node` (and on `also`), uploaded by `node`. */
export async function putChunk(node: TestNode, size: number, also: TestNode[] = []): Promise<PutChunk> {
  const bytes = testBytes(size);
  const uuid = newUuid();
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  for (const holder of [node, ...also]) {
    await using writer = await holder.daemon.stores.beginPut(uuid, { size, meta: { uploader: node.uuid } });
    for (let at = 0; at < size; at += PIECE) await writer.write(bytes.subarray(at, at + PIECE));
    await writer.finish(sha256);
  }
  return { uuid, sha256, size };
}

/** The chunk file of `uuid` in a node's default store. */
export function chunkFile(node: TestNode, uuid: string): string {
  return join(node.home, 'stores', 'default', 'chunks', uuid.slice(0, 2), uuid.slice(2, 4), uuid);
}

/** Flips every bit of byte `at` of the chunk file on disk (its sidecar still says the old hash). */
export async function flipByte(node: TestNode, uuid: string, at = 0): Promise<void> {
  const fh = await open(chunkFile(node, uuid), 'r+');
  try {
    const one = Buffer.alloc(1);
    await fh.read(one, 0, 1, at);
    one[0] = (one[0] ?? 0) ^ 0xff;
    await fh.write(one, 0, 1, at);
  } finally {
    await fh.close();
  }
}

/** Node `to` as `from` asks it: through `from`'s peer pool. */
export function peerOf(from: TestNode, to: TestNode): TaskPeer {
  return { uuid: to.uuid, session: (signal) => from.daemon.pool.session(to.uuid, { signal }) };
}
