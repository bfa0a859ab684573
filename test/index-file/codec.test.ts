import { createHash } from 'node:crypto';
import { type TestContext, test } from 'node:test';
import fc from 'fast-check';
import { isArozError } from '../../src/errors.ts';
import {
  canonicalJson,
  decodeIndex,
  EMPTY_SHA256,
  encodeIndex,
  INDEX_MAX_BYTES,
  type IndexFile,
  isDistributedIndex,
  isLocalIndex,
  SIGNING_PREFIX,
  signingPayload,
} from '../../src/index-file/index.ts';
import { seedFastCheck } from '../helpers/random.ts';
import { indexArb, sampleDistributedIndex, sampleLocalIndex } from './arbitraries.ts';

seedFastCheck();

test('encodeIndex → decodeIndex gives back an equal index, for arbitrary valid indexes', (t: TestContext) => {
  fc.assert(
    fc.property(indexArb, (index) => {
      const text = encodeIndex(index);
      t.assert.deepStrictEqual(decodeIndex(text), index);
      t.assert.deepStrictEqual(decodeIndex(Buffer.from(text)), index);
      t.assert.strictEqual(isLocalIndex(index), index.cluster === undefined);
      t.assert.strictEqual(isDistributedIndex(index), index.cluster !== undefined);
    }),
    { numRuns: 300 },
  );
});

test('encodeIndex writes JSON indented by two spaces with a trailing newline', (t: TestContext) => {
  const text = encodeIndex(sampleLocalIndex());
  t.assert.ok(text.startsWith('{\n  "format": "arozdfs-index",\n  "version": 1,\n'));
  t.assert.ok(text.endsWith('}\n'));
  t.assert.strictEqual(text, `${JSON.stringify(sampleLocalIndex(), null, 2)}\n`);
});

test('decodeIndex keeps unknown fields at every level, and the signature covers them', (t: TestContext) => {
  const index = sampleDistributedIndex();
  index.comment = 'top';
  index.file.mtime = 1_700_000_000;
  index.redundancy.note = ['x'];
  index.chunks[1]!.store = 'external-1';
  index.chunks[1]!.holders![0]!.store = { disk: 2 };
  index.signature = { alg: 'RSA-PSS-SHA256', key: `SHA256:${'A'.repeat(43)}`, value: 'AAAA', extra: true };
  const decoded = decodeIndex(encodeIndex(index));
  t.assert.deepStrictEqual(decoded, index);
  const changed = structuredClone(decoded);
  changed.chunks[1]!.holders![0]!.store = { disk: 3 };
  t.assert.notDeepStrictEqual(signingPayload(changed), signingPayload(decoded));
});

test('signingPayload is the prefix and the canonical JSON of the index without its signature', (t: TestContext) => {
  const index = sampleDistributedIndex();
  const unsigned = signingPayload(index);
  t.assert.strictEqual(unsigned.toString('utf8'), SIGNING_PREFIX + canonicalJson(index));
  index.signature = { alg: 'RSA-PSS-SHA256', key: `SHA256:${'A'.repeat(43)}`, value: 'AAAA' };
  t.assert.deepStrictEqual(
    signingPayload(index),
    unsigned,
    'adding a signature does not change the signed bytes',
  );
  t.assert.ok(!unsigned.includes('"signature"'));
});

test('signingPayload does not depend on key order or whitespace of the file', (t: TestContext) => {
  fc.assert(
    fc.property(indexArb, (index) => {
      const reordered = JSON.parse(JSON.stringify(index), function (this: unknown, _key, value: unknown) {
        if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
        return Object.fromEntries(Object.entries(value).reverse());
      }) as IndexFile;
      const compact = decodeIndex(JSON.stringify(reordered));
      t.assert.deepStrictEqual(signingPayload(compact), signingPayload(index));
    }),
    { numRuns: 100 },
  );
});

test('an empty file has zero chunks and the SHA-256 of empty input', (t: TestContext) => {
  const index = sampleLocalIndex();
  index.file = { name: 'empty', size: 0, sha256: createHash('sha256').digest('hex') };
  index.chunks = [];
  t.assert.strictEqual(index.file.sha256, EMPTY_SHA256);
  t.assert.deepStrictEqual(decodeIndex(encodeIndex(index)), index);
  t.assert.ok(isLocalIndex(index));
});

test('encodeIndex refuses an invalid index with the code decodeIndex would give', (t: TestContext) => {
  const cases: [string, (index: IndexFile) => void, string][] = [
    ['a chunk UUID that is a path', (x) => (x.chunks[0]!.uuid = '../../etc/passwd'), 'ERR_INDEX_INVALID'],
    ['version 3', (x) => ((x as { version: number }).version = 3), 'ERR_INDEX_VERSION'],
    ['an unknown scheme', (x) => ((x.redundancy as { scheme: string }).scheme = 'lrc'), 'ERR_INDEX_SCHEME'],
    ['an undefined unknown field', (x) => (x.extra = undefined), 'ERR_INDEX_INVALID'],
    ['a NaN unknown field', (x) => (x.file.extra = Number.NaN), 'ERR_INDEX_INVALID'],
    ['a -0 offset', (x) => (x.chunks[0]!.offset = -0), 'ERR_INDEX_INVALID'],
    ['a Date', (x) => (x.extra = new Date(0)), 'ERR_INDEX_INVALID'],
    ['a lone surrogate', (x) => (x.file.name = 'a\ud800'), 'ERR_INDEX_INVALID'],
    [
      'a "__proto__" key',
      (x) => Object.defineProperty(x, '__proto__', { value: 1, enumerable: true }),
      'ERR_INDEX_INVALID',
    ],
    [
      'a hole in an array',
      (x) => {
        x.extra = [1, 2, 3];
        delete (x.extra as unknown[])[1];
      },
      'ERR_INDEX_INVALID',
    ],
    ['a bigint', (x) => (x.extra = 1n), 'ERR_INDEX_INVALID'],
    ['too many chunks', (x) => (x.chunks = new Array(1_048_577).fill(0)), 'ERR_INDEX_TOO_LARGE'],
  ];
  for (const [what, change, code] of cases) {
    const index = sampleLocalIndex();
    change(index);
    t.assert.throws(
      () => encodeIndex(index),
      (err) => isArozError(err, code as never),
      what,
    );
  }
  const cyclic = sampleLocalIndex();
  cyclic.extra = cyclic;
  t.assert.throws(
    () => encodeIndex(cyclic),
    (err) => isArozError(err, 'ERR_INDEX_INVALID'),
    'a cycle',
  );
});

test('encodeIndex writes the compact form when the indented one would pass 64 MiB', (t: TestContext) => {
  // Two arrays of 600,000 numbers nested 30 deep: ~62 bytes of indentation per number.
  const index = sampleLocalIndex();
  let deep: unknown = [new Array(600_000).fill(7), new Array(600_000).fill(8)];
  for (let k = 0; k < 28; k++) deep = [deep];
  index.extra = deep;
  const text = encodeIndex(index);
  t.assert.ok(!text.startsWith('{\n'), 'compact');
  t.assert.ok(text.endsWith('}\n'));
  t.assert.ok(Buffer.byteLength(text) <= INDEX_MAX_BYTES);
  t.assert.deepStrictEqual(decodeIndex(text), index);
});

test('encodeIndex refuses an index that is over 64 MiB even when compact', (t: TestContext) => {
  const index = sampleLocalIndex();
  index.extra = new Array(1100).fill('x'.repeat(65_000));
  t.assert.throws(
    () => encodeIndex(index),
    (err) => isArozError(err, 'ERR_INDEX_TOO_LARGE'),
  );
});

test('isLocalIndex and isDistributedIndex tell the two shapes apart', (t: TestContext) => {
  const local = decodeIndex(encodeIndex(sampleLocalIndex()));
  const distributed = decodeIndex(encodeIndex(sampleDistributedIndex()));
  t.assert.deepStrictEqual([isLocalIndex(local), isDistributedIndex(local)], [true, false]);
  t.assert.deepStrictEqual([isLocalIndex(distributed), isDistributedIndex(distributed)], [false, true]);
});
