import { type TestContext, test } from 'node:test';
import { isArozError } from '../../src/errors.ts';
import {
  decodeIndex,
  encodeIndex,
  INDEX_MAX_CHUNKS,
  indexRevision,
  MAX_CLUSTER_NODES,
  MAX_HOLDERS,
  validateIndex,
} from '../../src/index-file/index.ts';
import { sampleDistributedIndex, sampleLocalIndex } from './arbitraries.ts';

/** A v4 UUID made from a number, distinct for distinct numbers. */
const uuidOf = (n: number) => `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;

test('decodeIndex refuses more than 1,048,576 chunks as too large before looking at them', (t: TestContext) => {
  const header = JSON.stringify(sampleLocalIndex()).replace(/"chunks":\[.*\],"createdAt"/, '"createdAt"');
  const text = `${header.slice(0, -1)},"chunks":[${'0,'.repeat(INDEX_MAX_CHUNKS)}0]}`;
  t.assert.throws(
    () => decodeIndex(text),
    (err) => isArozError(err, 'ERR_INDEX_TOO_LARGE'),
  );
  const index = sampleLocalIndex();
  index.chunks = new Array(INDEX_MAX_CHUNKS + 1).fill(null);
  t.assert.throws(
    () => validateIndex(index),
    (err) => isArozError(err, 'ERR_INDEX_TOO_LARGE'),
  );
});

test('holders may outnumber copies (repairs add holders) up to 64 per chunk', (t: TestContext) => {
  const index = sampleDistributedIndex();
  index.redundancy.copies = 1;
  const nodes = Array.from({ length: MAX_HOLDERS }, (_, k) => uuidOf(k + 1));
  index.chunks[0]!.holders = nodes.map((node) => ({ node }));
  t.assert.deepStrictEqual(decodeIndex(encodeIndex(index)), index);
  index.chunks[0]!.holders.push({ node: uuidOf(MAX_HOLDERS + 1) });
  t.assert.throws(
    () => encodeIndex(index),
    (err) => isArozError(err, 'ERR_INDEX_INVALID'),
  );
});

test('holders need not be members of the cluster list (a copy may have moved)', (t: TestContext) => {
  const index = sampleDistributedIndex();
  index.chunks[2]!.holders = [{ node: uuidOf(99) }];
  t.assert.deepStrictEqual(decodeIndex(encodeIndex(index)), index);
});

test('the cluster list holds up to 1,024 distinct nodes', (t: TestContext) => {
  const index = sampleDistributedIndex();
  index.cluster = Array.from({ length: MAX_CLUSTER_NODES }, (_, k) => uuidOf(k));
  t.assert.deepStrictEqual(decodeIndex(encodeIndex(index)), index);
  index.cluster.push(uuidOf(MAX_CLUSTER_NODES));
  t.assert.throws(
    () => encodeIndex(index),
    (err) => isArozError(err, 'ERR_INDEX_INVALID'),
  );
});

test('a distributed index with zero chunks (an uploaded empty file) is valid', (t: TestContext) => {
  const index = sampleDistributedIndex();
  index.file = {
    name: 'empty',
    size: 0,
    sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  };
  index.chunks = [];
  t.assert.deepStrictEqual(decodeIndex(encodeIndex(index)), index);
});

test('a chunk of exactly chunkSize may be the last one; a local index may not hold a holder list', (t: TestContext) => {
  const index = sampleLocalIndex();
  index.file.size = 8192;
  index.chunks.pop();
  t.assert.deepStrictEqual(decodeIndex(encodeIndex(index)), index);
  index.chunks[0]!.holders = [];
  t.assert.throws(
    () => encodeIndex(index),
    (err) => isArozError(err, 'ERR_INDEX_INVALID'),
  );
});

test('the version is judged before anything else a later version might change', (t: TestContext) => {
  const text = JSON.stringify({ format: 'arozdfs-index', version: 3, chunks: 'new layout', redundancy: 7 });
  t.assert.throws(
    () => decodeIndex(text),
    (err) => isArozError(err, 'ERR_INDEX_VERSION'),
  );
  const scheme = JSON.stringify({ format: 'arozdfs-index', version: 1, redundancy: { scheme: 'rs-4-2' } });
  t.assert.throws(
    () => decodeIndex(scheme),
    (err) => isArozError(err, 'ERR_INDEX_SCHEME'),
  );
});

test('revision: absent reads as 0; a safe integer ≥ 0 is kept; anything else is refused', (t: TestContext) => {
  const base = sampleDistributedIndex();
  t.assert.strictEqual(indexRevision(validateIndex(base)), 0);
  t.assert.strictEqual(indexRevision(validateIndex({ ...base, revision: 7 })), 7);
  for (const revision of [-1, 1.5, '1', null, Number.MAX_SAFE_INTEGER + 1]) {
    t.assert.throws(
      () => validateIndex({ ...base, revision }),
      (err) => isArozError(err, 'ERR_INDEX_INVALID'),
    );
  }
});
