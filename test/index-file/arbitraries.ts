/**
 * fast-check arbitraries and fixed samples of valid index files (local and distributed, with and
 * without unknown fields) for the index-file tests.
 */
import fc from 'fast-check';
import {
  EMPTY_SHA256,
  type IndexChunk,
  type IndexFile,
  isValidFileName,
  MAX_CHUNK_SIZE,
  MIN_CHUNK_SIZE,
} from '../../src/index-file/index.ts';

const KNOWN = new Set([
  'format',
  'version',
  'id',
  'file',
  'chunkSize',
  'redundancy',
  'chunks',
  'cluster',
  'shift',
  'createdAt',
  'createdBy',
  'signature',
  'revision',
  'name',
  'size',
  'sha256',
  'scheme',
  'copies',
  'i',
  'offset',
  'uuid',
  'holders',
  'node',
  'alg',
  'key',
  'value',
]);

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
export const sha256Arb = fc.uint8Array({ minLength: 32, maxLength: 32 }).map(hex);
export const uuidArb = fc.uuid({ version: 4 });

/** JSON values without -0 (JSON cannot hold it) and without "__proto__" keys (refused). */
export const jsonArb = fc.jsonValue({ maxDepth: 3, stringUnit: 'binary' }).map(function clean(
  v: unknown,
): unknown {
  if (Object.is(v, -0)) return 0;
  if (Array.isArray(v)) return v.map(clean);
  if (v !== null && typeof v === 'object') {
    return Object.fromEntries(
      Object.entries(v).flatMap(([k, x]) => (k === '__proto__' ? [] : [[k, clean(x)]])),
    );
  }
  return v;
});

/** Unknown fields: keys that no version-1 object uses. */
const extraArb = fc.dictionary(
  fc.string({ minLength: 1, maxLength: 8 }).filter((k) => !KNOWN.has(k) && k !== '__proto__'),
  jsonArb,
  { maxKeys: 2 },
);
const withExtra = <T extends object>(arb: fc.Arbitrary<T>) =>
  fc.tuple(arb, fc.option(extraArb, { nil: undefined })).map(([v, extra]) => ({ ...extra, ...v }));

const nameArb = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }).filter(isValidFileName);
const timestampArb = fc
  .date({ min: new Date('1970-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59Z'), noInvalidDate: true })
  .map((d) => d.toISOString());
const fingerprintArb = fc
  .uint8Array({ minLength: 32, maxLength: 32 })
  .map((b) => `SHA256:${Buffer.from(b).toString('base64').replace(/=+$/, '')}`);
const signatureArb = withExtra(
  fc.record({
    alg: fc.constant('RSA-PSS-SHA256' as const),
    key: fingerprintArb,
    value: fc.uint8Array({ minLength: 1, maxLength: 600 }).map((b) => Buffer.from(b).toString('base64')),
  }),
);

/** A valid index: 0–6 chunks, local or distributed, sometimes signed, sometimes with unknown fields. */
export const indexArb: fc.Arbitrary<IndexFile> = fc
  .record({
    chunkSize: fc.integer({ min: MIN_CHUNK_SIZE, max: MAX_CHUNK_SIZE }),
    count: fc.integer({ min: 0, max: 6 }),
    lastFraction: fc.double({ min: 0, max: 1, noNaN: true }),
    distributed: fc.boolean(),
    cluster: fc.uniqueArray(uuidArb, { minLength: 1, maxLength: 5 }),
  })
  .chain(({ chunkSize, count, lastFraction, distributed, cluster }) => {
    const last = Math.max(1, Math.ceil(lastFraction * chunkSize));
    const size = count === 0 ? 0 : (count - 1) * chunkSize + last;
    const chunks = fc
      .tuple(
        fc.uniqueArray(uuidArb, { minLength: count, maxLength: count }),
        fc.array(sha256Arb, { minLength: count, maxLength: count }),
        fc.array(fc.shuffledSubarray(cluster, { minLength: 1 }), { minLength: count, maxLength: count }),
        fc.array(fc.option(extraArb, { nil: undefined }), { minLength: count, maxLength: count }),
      )
      .map(([uuids, hashes, holders, extras]) =>
        uuids.map((uuid, i): IndexChunk => {
          const chunk: IndexChunk = {
            ...extras[i],
            i,
            offset: i * chunkSize,
            size: i === count - 1 ? last : chunkSize,
            sha256: hashes[i]!,
            uuid,
          };
          if (distributed) chunk.holders = holders[i]!.map((node) => ({ node }));
          return chunk;
        }),
      );
    const base = fc.record({
      format: fc.constant('arozdfs-index' as const),
      version: fc.constant(1 as const),
      id: uuidArb,
      file: withExtra(
        fc.record({
          name: nameArb,
          size: fc.constant(size),
          sha256: size === 0 ? fc.constant(EMPTY_SHA256) : sha256Arb,
        }),
      ),
      chunkSize: fc.constant(chunkSize),
      redundancy: withExtra(
        fc.record({
          scheme: fc.constant('replicas' as const),
          copies: distributed ? fc.integer({ min: 1, max: 16 }) : fc.constant(1),
        }),
      ),
      chunks,
      createdAt: timestampArb,
    });
    const upload = distributed
      ? fc.record(
          {
            cluster: fc.constant(cluster),
            shift: fc.nat(100),
            createdBy: uuidArb,
            signature: signatureArb,
            revision: fc.oneof(fc.nat(10), fc.constant(Number.MAX_SAFE_INTEGER)),
          },
          { requiredKeys: ['cluster', 'shift', 'createdBy'] },
        )
      : fc.constant({});
    return fc.tuple(withExtra(base), upload).map(([b, u]) => ({ ...b, ...u }) as IndexFile);
  });

/** A fixed local index of three chunks (4096, 4096, 1808 bytes). */
export function sampleLocalIndex(): IndexFile {
  const chunkSize = 4096;
  return {
    format: 'arozdfs-index',
    version: 1,
    id: '5e2f4c1a-7b3d-4e8f-9a0b-1c2d3e4f5a6b',
    file: { name: 'notes.txt', size: 10_000, sha256: 'a'.repeat(64) },
    chunkSize,
    redundancy: { scheme: 'replicas', copies: 1 },
    chunks: [0, 1, 2].map((i) => ({
      i,
      offset: i * chunkSize,
      size: i < 2 ? chunkSize : 1808,
      sha256: String(i).repeat(64),
      uuid: `9a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4${i}`,
    })),
    createdAt: '2026-11-26T10:15:30.123Z',
  };
}

export const SAMPLE_NODES = [
  '0b6f8a52-3c1d-4e7f-9a2b-5c8d1e4f7a90',
  '1c7e9b63-4d2e-4f80-8b3c-6d9e2f5a8b01',
  '2d8fac74-5e3f-4091-9c4d-7eaf3a6b9c12',
];

/** The same file uploaded to three nodes with two copies and shift 1, unsigned. */
export function sampleDistributedIndex(): IndexFile {
  const index = sampleLocalIndex();
  const n = SAMPLE_NODES;
  index.redundancy.copies = 2;
  for (const chunk of index.chunks)
    chunk.holders = [{ node: n[chunk.i % 3]! }, { node: n[(chunk.i + 1) % 3]! }];
  index.cluster = [...n];
  index.shift = 1;
  index.createdBy = n[0]!;
  return index;
}
