/**
 * Helpers for the catalog tests: test nodes with real RSA keys, signed distributed indexes, a
 * seeded random source, and catalog stores in temp folders closed after the test.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { type CatalogKeys, catalogKeys, SqliteCatalogStore } from '../../src/catalog/index.ts';
import type { IndexFile } from '../../src/index-file/index.ts';
import { type KeyPair, signIndex } from '../../src/keys/index.ts';
import { teardown, tmpDir } from '../helpers/context.ts';
import { testKeyPair } from '../helpers/keys.ts';

export interface TestNode {
  uuid: string;
  keyPair: KeyPair;
}

/** A v4 UUID made from a number, distinct for distinct numbers. */
export const uuidOf = (n: number, tag = 0) =>
  `${tag.toString(16).padStart(8, '0')}-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;

/** Test node n: a fixed UUID and the n-th test key pair of this process. */
export async function testNode(n: number): Promise<TestNode> {
  return { uuid: uuidOf(n, 0xacee), keyPair: await testKeyPair(n) };
}

/** The keys `self` verifies statements with, having pinned `peers`. */
export function keysOf(self: TestNode, ...peers: TestNode[]): CatalogKeys {
  const pinned = new Map(peers.map((p) => [p.uuid, p.keyPair]));
  return catalogKeys({ nodeUuid: self.uuid, keys: [self.keyPair] }, { get: (uuid) => pinned.get(uuid) });
}

/** A small seeded PRNG (mulberry32): tests take their randomness from a fixed seed. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface IndexOptions {
  id: string;
  name?: string;
  chunks?: number;
  revision?: number;
  holders?: string[];
  createdAt?: string;
}

/** A distributed index uploaded and signed by `uploader`, each chunk on `holders` (default: the uploader). */
export function makeIndex(uploader: TestNode, options: IndexOptions, sign = true): IndexFile {
  const chunkSize = 4096;
  const count = options.chunks ?? 2;
  const holders = options.holders ?? [uploader.uuid];
  const hex = (s: string) => createHash('sha256').update(s).digest('hex');
  const index: IndexFile = {
    format: 'arozdfs-index',
    version: 1,
    id: options.id,
    file: { name: options.name ?? 'notes.txt', size: count * chunkSize, sha256: hex(`${options.id}/file`) },
    chunkSize,
    redundancy: { scheme: 'replicas', copies: holders.length },
    chunks: Array.from({ length: count }, (_, i) => ({
      i,
      offset: i * chunkSize,
      size: chunkSize,
      sha256: hex(`${options.id}/${i}`),
      uuid: chunkUuid(options.id, i),
      holders: holders.map((node) => ({ node })),
    })),
    createdAt: options.createdAt ?? '2026-12-01T10:00:00.000Z',
    cluster: holders,
    shift: 0,
    createdBy: uploader.uuid,
    ...(options.revision === undefined ? {} : { revision: options.revision }),
  };
  return sign ? signIndex(index, uploader.keyPair) : index;
}

/** Chunk UUID i of a file id (deterministic, so tests can ask for its holders). */
export function chunkUuid(fileId: string, i: number): string {
  const h = createHash('sha256').update(`${fileId}#${i}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** A catalog store in a temp folder, closed before the folder is removed. */
export async function openStore(t: TestContext, name = 'catalog.db'): Promise<SqliteCatalogStore> {
  const dir = await tmpDir(t, 'arozdfs-catalog-');
  const store = await SqliteCatalogStore.open(join(dir, name));
  teardown(t).defer(() => store.close());
  return store;
}
