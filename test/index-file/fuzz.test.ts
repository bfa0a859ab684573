import { type TestContext, test } from 'node:test';
import fc from 'fast-check';
import { ArozError } from '../../src/errors.ts';
import { decodeIndex, encodeIndex, type IndexFile } from '../../src/index-file/index.ts';
import { seedFastCheck } from '../helpers/random.ts';
import { indexArb, jsonArb, sampleDistributedIndex } from './arbitraries.ts';

seedFastCheck();

const DECODE_CODES = new Set([
  'ERR_INDEX_INVALID',
  'ERR_INDEX_TOO_LARGE',
  'ERR_INDEX_VERSION',
  'ERR_INDEX_SCHEME',
]);

/**
 * Decodes `input` and checks the outcome: either an index that encodes and decodes back equal, or an
 * ArozError with one of the decoder's codes. Anything else thrown fails the property.
 */
function decodesOrRefuses(t: TestContext, input: string | Uint8Array): void {
  let index: IndexFile;
  try {
    index = decodeIndex(input);
  } catch (err) {
    t.assert.ok(err instanceof ArozError, `only ArozError escapes, got ${String(err)}`);
    t.assert.ok(DECODE_CODES.has(err.code), `a decoder code, got ${err.code}`);
    t.assert.ok(!err.message.includes('\n'), 'the message is one line');
    return;
  }
  t.assert.deepStrictEqual(decodeIndex(encodeIndex(index)), index, 'what decodes also encodes back');
}

const JSONISH = fc.constantFrom(
  '{',
  '}',
  '[',
  ']',
  '"',
  ':',
  ',',
  ' ',
  '\n',
  '0',
  '1',
  '-',
  '.',
  'e',
  'E',
  '+',
  '\\',
  'u',
  'd800',
  'true',
  'null',
  '"a"',
  '"__proto__"',
  '"format"',
  '"arozdfs-index"',
  '"version"',
  '1e400',
  '\ufeff',
  '\u0000',
);

test('decodeIndex throws only ArozError on arbitrary strings', (t: TestContext) => {
  fc.assert(
    fc.property(
      fc.oneof(fc.string({ unit: 'binary' }), fc.string({ unit: JSONISH, maxLength: 60 })),
      (text) => decodesOrRefuses(t, text),
    ),
    { numRuns: 2000 },
  );
});

test('decodeIndex throws only ArozError on arbitrary bytes', (t: TestContext) => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => decodesOrRefuses(t, bytes)),
    { numRuns: 1000 },
  );
});

test('decodeIndex throws only ArozError on byte-level mutations of a valid index', (t: TestContext) => {
  const mutation = fc.record({
    at: fc.double({ min: 0, max: 1, noNaN: true }),
    length: fc.nat(40),
    insert: fc.oneof(fc.string({ unit: JSONISH, maxLength: 4 }), fc.string({ unit: 'binary', maxLength: 3 })),
  });
  fc.assert(
    fc.property(
      indexArb,
      fc.array(mutation, { minLength: 1, maxLength: 4 }),
      fc.boolean(),
      (index, edits, bytes) => {
        let text = encodeIndex(index);
        for (const { at, length, insert } of edits) {
          const pos = Math.floor(at * text.length);
          text = text.slice(0, pos) + insert + text.slice(pos + length);
        }
        decodesOrRefuses(t, bytes ? Buffer.from(text) : text);
      },
    ),
    { numRuns: 1000 },
  );
});

test('decodeIndex throws only ArozError when any field of a valid index is replaced or removed', (t: TestContext) => {
  fc.assert(
    fc.property(indexArb, fc.nat(), fc.oneof(jsonArb, fc.constant(undefined)), (index, pick, replacement) => {
      const slots = allSlots(index);
      const [parent, key] = slots[pick % slots.length]!;
      if (replacement === undefined && !Array.isArray(parent)) delete parent[key];
      else parent[key] = replacement ?? null;
      decodesOrRefuses(t, JSON.stringify(index));
    }),
    { numRuns: 1000 },
  );
});

test('decodeIndex refuses every single-field change that breaks a known rule of the sample', (t: TestContext) => {
  const base = sampleDistributedIndex();
  for (const [parent, key] of allSlots(base)) {
    const original = parent[key];
    for (const replacement of [null, -1, 'x', [], {}]) {
      if (typeof original === 'object' && original !== null && typeof replacement === 'object') continue;
      if (key === 'name' && replacement === 'x') continue; // a fine file name
      parent[key] = replacement;
      t.assert.throws(
        () => decodeIndex(JSON.stringify(base)),
        ArozError,
        `${String(key)} = ${JSON.stringify(replacement)}`,
      );
    }
    parent[key] = original;
  }
  t.assert.doesNotThrow(() => decodeIndex(JSON.stringify(base)));
});

type Slot = [Record<string | number, unknown>, string | number];

/** Every (container, key) pair of a JSON value. */
function allSlots(value: unknown, out: Slot[] = []): Slot[] {
  if (value === null || typeof value !== 'object') return out;
  const container = value as Record<string | number, unknown>;
  for (const key of Array.isArray(value) ? value.keys() : Object.keys(value)) {
    out.push([container, key]);
    allSlots(container[key], out);
  }
  return out;
}
