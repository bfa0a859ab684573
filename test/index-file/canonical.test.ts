import { type TestContext, test } from 'node:test';
import fc from 'fast-check';
import { canonicalJson, parseStrictJson } from '../../src/index-file/index.ts';
import { seedFastCheck } from '../helpers/random.ts';
import { jsonArb } from './arbitraries.ts';

seedFastCheck();

// RFC 8785 §3.2.2 (the input has non-canonical numbers and escapes, so JSON.parse reads it).
test('canonicalJson matches the RFC 8785 example of §3.2.2', (t: TestContext) => {
  const input = String.raw`{
    "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
    "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
    "literals": [null, true, false]
  }`;
  const expected = String.raw`{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}`;
  t.assert.strictEqual(canonicalJson(JSON.parse(input)), expected);
});

// RFC 8785 §3.2.3: keys sorted by UTF-16 code units (the emoji's high surrogate sorts before U+FB33).
test('canonicalJson sorts keys by UTF-16 code units as in RFC 8785 §3.2.3', (t: TestContext) => {
  const input = {
    '\u20ac': 'Euro Sign',
    '\r': 'Carriage Return',
    '\ufb33': 'Hebrew Letter Dalet With Dagesh',
    '1': 'One',
    '\ud83d\ude00': 'Emoji: Grinning Face',
    '\u0080': 'Control',
    '\u00f6': 'Latin Small Letter O With Diaeresis',
  };
  t.assert.strictEqual(
    canonicalJson(input),
    '{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis",' +
      '"\u20ac":"Euro Sign","\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
  );
});

// RFC 8785 Appendix B: IEEE-754 bit patterns and their canonical text.
test('canonicalJson writes numbers as RFC 8785 Appendix B says', (t: TestContext) => {
  const samples: [string, string][] = [
    ['0000000000000000', '0'],
    ['8000000000000000', '0'],
    ['0000000000000001', '5e-324'],
    ['8000000000000001', '-5e-324'],
    ['7fefffffffffffff', '1.7976931348623157e+308'],
    ['ffefffffffffffff', '-1.7976931348623157e+308'],
    ['4340000000000000', '9007199254740992'],
    ['c340000000000000', '-9007199254740992'],
    ['4430000000000000', '295147905179352830000'],
    ['44b52d02c7e14af5', '9.999999999999997e+22'],
    ['44b52d02c7e14af6', '1e+23'],
    ['44b52d02c7e14af7', '1.0000000000000001e+23'],
    ['444b1ae4d6e2ef4e', '999999999999999700000'],
    ['444b1ae4d6e2ef4f', '999999999999999900000'],
    ['444b1ae4d6e2ef50', '1e+21'],
    ['3eb0c6f7a0b5ed8c', '9.999999999999997e-7'],
    ['3eb0c6f7a0b5ed8d', '0.000001'],
    ['41b3de4355555553', '333333333.3333332'],
    ['41b3de4355555554', '333333333.33333325'],
    ['41b3de4355555555', '333333333.3333333'],
    ['41b3de4355555556', '333333333.3333334'],
    ['41b3de4355555557', '333333333.33333343'],
    ['becbf647612f3696', '-0.0000033333333333333333'],
    ['43143ff3c1cb0959', '1424953923781206.2'],
  ];
  for (const [bits, text] of samples) {
    const value = Buffer.from(bits, 'hex').readDoubleBE(0);
    t.assert.strictEqual(canonicalJson(value), text, bits);
  }
  for (const bits of ['7fffffffffffffff', '7ff0000000000000']) {
    const value = Buffer.from(bits, 'hex').readDoubleBE(0);
    t.assert.throws(() => canonicalJson(value), TypeError, `${bits} (NaN, Infinity) is refused`);
  }
});

test('canonicalJson matches the structures example of the RFC 8785 test data', (t: TestContext) => {
  const input =
    '{"1": {"f": {"f": "hi","F": 5} ,"\\n": 56.0}, "10": { }, "": "empty", "a": { }, "111": [ { } ], "A": { }}';
  t.assert.strictEqual(
    canonicalJson(JSON.parse(input)),
    '{"":"empty","1":{"\\n":56,"f":{"F":5,"f":"hi"}},"10":{},"111":[{}],"A":{},"a":{}}',
  );
});

test('canonicalJson is the same for every key order, and reads back as the same value', (t: TestContext) => {
  fc.assert(
    fc.property(jsonArb, fc.integer(), (value, seed) => {
      const permuted = permuteKeys(value, seed);
      const canonical = canonicalJson(value);
      t.assert.strictEqual(canonicalJson(permuted), canonical);
      t.assert.deepStrictEqual(JSON.parse(canonical), value);
      t.assert.deepStrictEqual(parseStrictJson(canonical), value, 'the strict parser accepts canonical JSON');
      t.assert.strictEqual(canonicalJson(JSON.parse(canonical)), canonical);
    }),
    { numRuns: 300 },
  );
});

test('canonicalJson refuses what is not JSON data with a TypeError', (t: TestContext) => {
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  for (const value of [
    undefined,
    Number.NaN,
    Number.POSITIVE_INFINITY,
    'a\udc00',
    { a: undefined },
    [() => 1],
    new Map(),
    1n,
    cyclic,
  ]) {
    t.assert.throws(() => canonicalJson(value), TypeError);
  }
});

/** The same JSON value with every object's keys inserted in a seeded random order. */
function permuteKeys(value: unknown, seed: number): unknown {
  if (Array.isArray(value)) return value.map((v, k) => permuteKeys(v, seed + k));
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value);
  let s = seed;
  for (let k = entries.length - 1; k > 0; k--) {
    s = (Math.imul(s, 1103515245) + 12345) | 0;
    const j = Math.abs(s) % (k + 1);
    [entries[k], entries[j]] = [entries[j]!, entries[k]!];
  }
  return Object.fromEntries(entries.map(([k, v]) => [k, permuteKeys(v, s)]));
}
