import { type TestContext, test } from 'node:test';
import fc from 'fast-check';
import { isArozError } from '../../src/errors.ts';
import { decodeIndex, INDEX_MAX_BYTES, JSON_LIMITS, parseStrictJson } from '../../src/index-file/index.ts';
import { seedFastCheck } from '../helpers/random.ts';

seedFastCheck();

function hasProtoKey(value: unknown): boolean {
  if (value === null || typeof value !== 'object') return false;
  if (!Array.isArray(value) && Object.hasOwn(value, '__proto__')) return true;
  return Object.values(value).some(hasProtoKey);
}

test('parseStrictJson agrees with JSON.parse on arbitrary JSON written by JSON.stringify', (t: TestContext) => {
  fc.assert(
    fc.property(fc.jsonValue({ maxDepth: 8, stringUnit: 'binary' }), fc.boolean(), (value, pretty) => {
      const text = pretty ? JSON.stringify(value, null, 2) : JSON.stringify(value);
      if (hasProtoKey(JSON.parse(text))) {
        t.assert.throws(
          () => parseStrictJson(text),
          (err) => isArozError(err, 'ERR_INDEX_INVALID'),
        );
      } else {
        t.assert.deepStrictEqual(parseStrictJson(text), JSON.parse(text));
      }
    }),
    { numRuns: 500 },
  );
});

test('parseStrictJson reads escapes, surrogate pairs and every whitespace JSON allows', (t: TestContext) => {
  const text =
    ' \t\r\n{ "a\\u0000b" : [ "\\"\\\\\\/\\b\\f\\n\\r\\t" , "\\ud83d\\ude00😀" , -1.5e-7 , 0 , true , false , null ] }\n';
  t.assert.deepStrictEqual(parseStrictJson(text), {
    'a\u0000b': ['"\\/\b\f\n\r\t', '😀😀', -1.5e-7, 0, true, false, null],
  });
});

test('parseStrictJson refuses what JSON.parse would silently accept or change', (t: TestContext) => {
  const refused = [
    '{"a":1,"a":1}',
    '{"a":{"b":[{"c":1,"c":2}]}}',
    '{"a":1,"\\u0061":2}',
    '{"__proto__":{}}',
    '[{"__proto__":null}]',
    '[1.0]',
    '[1e3]',
    '[1E+21]',
    '[-0]',
    '[0.10]',
    '[1e400]',
    '[-1e400]',
    '[9007199254740993]',
    '["\\ud800"]',
    '["\\udc00\\ud800"]',
    '["a\ud800"]',
  ];
  for (const text of refused) {
    t.assert.doesNotThrow(() => JSON.parse(text), `JSON.parse accepts ${text}`);
    t.assert.throws(
      () => parseStrictJson(text),
      (err) => isArozError(err, 'ERR_INDEX_INVALID'),
      text,
    );
  }
});

test('parseStrictJson refuses text that is not JSON', (t: TestContext) => {
  const refused = [
    '',
    ' ',
    '[',
    '[1,]',
    '{"a":1,}',
    '{a:1}',
    "{'a':1}",
    '[01]',
    '[+1]',
    '[.5]',
    '[1.]',
    '[1e]',
    '[0x10]',
    '[NaN]',
    '[Infinity]',
    '[undefined]',
    '[1] [2]',
    '[1] x',
    '// c\n[1]',
    '[/* c */1]',
    '["a\\x"]',
    '["\\u12g4"]',
    '["abc',
    '\ufeff[1]',
    '[tru]',
    '{"a" 1}',
    '{"a":1 "b":2}',
    '[1 2]',
    '\u00a0[1]',
    '["\u0001"]',
  ];
  for (const text of refused) {
    t.assert.throws(
      () => parseStrictJson(text),
      (err) => isArozError(err, 'ERR_INDEX_INVALID'),
      JSON.stringify(text),
    );
  }
});

test('parseStrictJson allows nesting to 32 levels and refuses 33', (t: TestContext) => {
  const depth = JSON_LIMITS.maxDepth;
  t.assert.ok(Array.isArray(parseStrictJson(`${'['.repeat(depth)}${']'.repeat(depth)}`)));
  t.assert.throws(
    () => parseStrictJson(`${'['.repeat(depth + 1)}${']'.repeat(depth + 1)}`),
    (err) => isArozError(err, 'ERR_INDEX_INVALID'),
  );
  t.assert.throws(
    () => parseStrictJson(`${'{"a":'.repeat(depth + 1)}1${'}'.repeat(depth + 1)}`),
    (err) => isArozError(err, 'ERR_INDEX_INVALID'),
  );
});

test('parseStrictJson allows strings and keys up to their limits and refuses one character more', (t: TestContext) => {
  const s = JSON_LIMITS.maxStringLength;
  const k = JSON_LIMITS.maxKeyLength;
  t.assert.strictEqual((parseStrictJson(`["${'a'.repeat(s)}"]`) as string[])[0]!.length, s);
  t.assert.throws(
    () => parseStrictJson(`["${'a'.repeat(s + 1)}"]`),
    (err) => isArozError(err, 'ERR_INDEX_INVALID'),
  );
  t.assert.throws(
    () => parseStrictJson(`["${'\\n'.repeat(s + 1)}"]`),
    (err) => isArozError(err, 'ERR_INDEX_INVALID'),
  );
  t.assert.deepStrictEqual(Object.keys(parseStrictJson(`{"${'k'.repeat(k)}":1}`) as object), ['k'.repeat(k)]);
  t.assert.throws(
    () => parseStrictJson(`{"${'k'.repeat(k + 1)}":1}`),
    (err) => isArozError(err, 'ERR_INDEX_INVALID'),
  );
});

test('parseStrictJson allows 1,048,576 array entries and refuses one more as too large', (t: TestContext) => {
  const n = JSON_LIMITS.maxArrayLength;
  t.assert.strictEqual((parseStrictJson(`[${'0,'.repeat(n - 1)}0]`) as unknown[]).length, n);
  t.assert.throws(
    () => parseStrictJson(`[${'0,'.repeat(n)}0]`),
    (err) => isArozError(err, 'ERR_INDEX_TOO_LARGE'),
  );
});

test('parseStrictJson refuses more than 4,194,304 values in all as too large', (t: TestContext) => {
  const row = `[${'{},'.repeat(999_999)}{}]`;
  const text = `[${new Array(5).fill(row).join(',')}]`;
  t.assert.throws(
    () => parseStrictJson(text),
    (err) => isArozError(err, 'ERR_INDEX_TOO_LARGE'),
  );
});

test('hostile giants fail fast: 64 MiB of "[", a 60 MB string, a million-digit number', (t: TestContext) => {
  const cases: [string, string][] = [
    ['['.repeat(INDEX_MAX_BYTES), 'ERR_INDEX_INVALID'],
    [`"${'a'.repeat(60_000_000)}"`, 'ERR_INDEX_INVALID'],
    [`{"format":${'1'.repeat(1_000_000)}}`, 'ERR_INDEX_INVALID'],
    [`[${'0,'.repeat(1_100_000)}0]`, 'ERR_INDEX_TOO_LARGE'],
    [' '.repeat(INDEX_MAX_BYTES + 1), 'ERR_INDEX_TOO_LARGE'],
    ['é'.repeat(INDEX_MAX_BYTES / 2 + 1), 'ERR_INDEX_TOO_LARGE'],
  ];
  for (const [text, code] of cases) {
    t.assert.throws(
      () => decodeIndex(text),
      (err) => isArozError(err, code as never),
      `${text.slice(0, 8)}…`,
    );
  }
  t.assert.throws(
    () => decodeIndex(new Uint8Array(INDEX_MAX_BYTES + 1)),
    (err) => isArozError(err, 'ERR_INDEX_TOO_LARGE'),
  );
});
