/**
 * A cluster in one process for the transfer tests: one real store per fake node (MemoryStore, or
 * DiskStore in a temp folder), each behind a FaultStore, and a `connect` that hands them out the way
 * the daemon hands out its StoreSet and remote stores. Nodes can be unknown or unreachable.
 */
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { ArozError } from '../../src/errors.ts';
import { type SignerKey, signerKeys } from '../../src/keys/index.ts';
import type { KeyPair } from '../../src/keys/rsa.ts';
import { DiskStore, MemoryStore } from '../../src/store/index.ts';
import { type Connect, type DownloadOptions, uploadFile } from '../../src/transfer/index.ts';
import { newUuid } from '../../src/uuid.ts';
import { teardown, tmpDir } from '../helpers/context.ts';
import { testKeyPair } from '../helpers/keys.ts';
import { testBytes } from '../helpers/random.ts';
import { FaultStore } from './faults.ts';

export const KiB = 1024;
export const CHUNK = 4 * KiB;

export interface TestCluster {
  /** Node UUIDs, sorted (the default cluster order). */
  nodes: string[];
  stores: Map<string, FaultStore>;
  /** Nodes whose connect fails with ERR_PEER_UNREACHABLE. */
  down: Set<string>;
  connect: Connect;
  /** How many times connect was called per node. */
  connects: Map<string, number>;
  store(node: string): FaultStore;
  self: { nodeUuid: string; keyPair: KeyPair };
  trusted: SignerKey[];
}

export async function testCluster(
  t: TestContext,
  n: number,
  options: { disk?: boolean; limit?: number } = {},
): Promise<TestCluster> {
  const nodes = Array.from({ length: n }, () => newUuid()).sort();
  const stores = new Map<string, FaultStore>();
  for (const node of nodes) {
    const inner =
      options.disk === true
        ? await DiskStore.create(
            await tmpDir(t),
            node,
            options.limit !== undefined ? { limit: options.limit } : {},
          )
        : new MemoryStore(options.limit !== undefined ? { limit: options.limit } : {});
    teardown(t).defer(() => inner.close());
    stores.set(node, new FaultStore(inner));
  }
  const down = new Set<string>();
  const connects = new Map<string, number>();
  const connect: Connect = async (node) => {
    connects.set(node, (connects.get(node) ?? 0) + 1);
    const store = stores.get(node);
    if (store === undefined) throw new ArozError('ERR_PEER_NOT_FOUND', `No trusted node "${node}"`);
    if (down.has(node)) throw new ArozError('ERR_PEER_UNREACHABLE', `Cannot reach node "${node}"`);
    return store;
  };
  const keyPair = await testKeyPair(0);
  const self = { nodeUuid: nodes[0]!, keyPair };
  const trusted = signerKeys({ nodeUuid: self.nodeUuid, keys: [keyPair] }, []);
  const store = (node: string) => stores.get(node)!;
  return { nodes, stores, down, connect, connects, store, self, trusted };
}

/** The upload options that name the cluster: every node in order, `connect` and `self`. */
export function on(cluster: TestCluster) {
  return { nodes: cluster.nodes, connect: cluster.connect, self: cluster.self };
}

/** A file of `size` random bytes in a fresh temp folder. */
export async function randomFile(t: TestContext, size: number, name = 'data.bin') {
  const dir = await tmpDir(t);
  const path = join(dir, name);
  const bytes = testBytes(size);
  await writeFile(path, bytes);
  return { dir, path, bytes };
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Total bytes handed to put writers across the cluster. */
export function writtenBytes(cluster: TestCluster): Map<string, number> {
  return new Map([...cluster.stores].map(([node, store]) => [node, store.written]));
}

/** A file of `size` random bytes uploaded to a fresh cluster of `n` nodes, and download options for it. */
export async function uploaded(
  t: TestContext,
  n = 3,
  size = 9 * CHUNK + 500,
  stores: { disk?: boolean } = {},
) {
  const cluster = await testCluster(t, n, stores);
  const { path, bytes } = await randomFile(t, size, 'movie.mkv');
  const index = await uploadFile(path, { ...on(cluster), chunkSize: CHUNK });
  const dir = await tmpDir(t);
  const options = (extra: Partial<DownloadOptions> = {}): DownloadOptions => ({
    connect: cluster.connect,
    trusted: cluster.trusted,
    onlineNodes: () => cluster.nodes,
    out: join(dir, 'out.mkv'),
    ...extra,
  });
  return { cluster, index, bytes, dir, options };
}
