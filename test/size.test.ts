import { type TestContext, test } from 'node:test';
import fc from 'fast-check';
import { isArozError } from '../src/errors.ts';
import { MAX_CHUNK_SIZE, MIN_CHUNK_SIZE } from '../src/index-file/types.ts';
import { checkChunkSize, formatRate, formatSize, parseChunkSize, parseSize } from '../src/size.ts';
import { seedFastCheck } from './helpers/random.ts';

seedFastCheck();

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    if (!isArozError(err)) throw err;
    return err.code;
  }
}

test('parseSize() reads bytes and units like GNU split', (t: TestContext) => {
  const cases: Array<[string, number]> = [
    ['0', 0],
    ['4096', 4096],
    ['4096B', 4096],
    ['4096b', 4096],
    ['0064', 64],
    ['64K', 64 * 1024],
    ['64k', 64 * 1024],
    ['64KiB', 64 * 1024],
    ['64kib', 64 * 1024],
    ['64KB', 64_000],
    ['64kb', 64_000],
    ['64M', 64 * 1024 ** 2],
    ['64MiB', 64 * 1024 ** 2],
    ['64MB', 64_000_000],
    ['1G', 1024 ** 3],
    ['1GiB', 1024 ** 3],
    ['1GB', 1e9],
    ['2T', 2 * 1024 ** 4],
    ['2TiB', 2 * 1024 ** 4],
    ['2TB', 2e12],
    ['9007199254740991', Number.MAX_SAFE_INTEGER],
  ];
  for (const [text, bytes] of cases) t.assert.strictEqual(parseSize(text, 'size'), bytes, text);
});

test('parseSize() refuses fractions, signs, spaces, exponents, hex and unknown units', (t: TestContext) => {
  for (const text of [
    '',
    ' ',
    'M',
    'MiB',
    '-1',
    '+1',
    '-64M',
    '1.5M',
    '1,5M',
    '.5',
    '1e6',
    '0x10',
    ' 64M',
    '64M ',
    '64 M',
    '64\nM',
    '64MiBB',
    '64Mi',
    '64iB',
    '64P',
    '64PiB',
    '1_000',
    'Infinity',
    'NaN',
    '６４',
    '9007199254740992',
    '8388608G',
    '1'.repeat(31),
  ]) {
    t.assert.strictEqual(
      codeOf(() => parseSize(text, 'size')),
      'ERR_INVALID_SIZE',
      JSON.stringify(text),
    );
  }
});

test('parseChunkSize() accepts exactly 4 KiB through 4 GiB - 1 byte', (t: TestContext) => {
  t.assert.strictEqual(parseChunkSize('4KiB'), MIN_CHUNK_SIZE);
  t.assert.strictEqual(parseChunkSize('4096'), MIN_CHUNK_SIZE);
  t.assert.strictEqual(parseChunkSize('64MiB'), 64 * 1024 ** 2);
  t.assert.strictEqual(parseChunkSize('4294967295'), MAX_CHUNK_SIZE);
  for (const text of ['0', '4095', '1K', '3KiB', '4GiB', '4G', '4294967296', '5GB', '-64M', 'abc', '1.5M']) {
    t.assert.strictEqual(
      codeOf(() => parseChunkSize(text)),
      'ERR_INVALID_SIZE',
      text,
    );
  }
});

test('checkChunkSize() refuses numbers that are not whole or out of range', (t: TestContext) => {
  for (const bytes of [0, -4096, 4095, 4096.5, Number.NaN, Number.POSITIVE_INFINITY, MAX_CHUNK_SIZE + 1]) {
    t.assert.strictEqual(
      codeOf(() => checkChunkSize(bytes)),
      'ERR_INVALID_SIZE',
      String(bytes),
    );
  }
  t.assert.strictEqual(checkChunkSize(MIN_CHUNK_SIZE), MIN_CHUNK_SIZE);
});

const UNITS: Array<[string, number]> = [
  ['', 1],
  ['B', 1],
  ['K', 1024],
  ['M', 1024 ** 2],
  ['G', 1024 ** 3],
  ['T', 1024 ** 4],
  ['KiB', 1024],
  ['MiB', 1024 ** 2],
  ['GiB', 1024 ** 3],
  ['TiB', 1024 ** 4],
  ['KB', 1e3],
  ['MB', 1e6],
  ['GB', 1e9],
  ['TB', 1e12],
];

test('parseSize() gives number × unit for any number and unit, in any letter case (property)', (t: TestContext) => {
  fc.assert(
    fc.property(
      fc.constantFrom(...UNITS),
      fc.nat({ max: 2 ** 40 }),
      fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }),
      ([unit, multiplier], n, upper) => {
        const cased = [...unit].map((c, k) => (upper[k] ? c.toUpperCase() : c.toLowerCase())).join('');
        const expected = n * multiplier;
        const text = `${n}${cased}`;
        if (Number.isSafeInteger(expected)) t.assert.strictEqual(parseSize(text, 'size'), expected);
        else
          t.assert.strictEqual(
            codeOf(() => parseSize(text, 'size')),
            'ERR_INVALID_SIZE',
          );
      },
    ),
  );
});

test('parseSize() throws only ERR_INVALID_SIZE, whatever the text (property)', (t: TestContext) => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 40 }), (text) => {
      const code = codeOf(() => parseSize(text, 'size'));
      if (code === undefined) t.assert.match(text, /^[0-9]+[A-Za-z]{0,3}$/);
      else t.assert.strictEqual(code, 'ERR_INVALID_SIZE');
    }),
  );
});

test('formatSize() shows bytes, then binary units', (t: TestContext) => {
  t.assert.strictEqual(formatSize(0), '0 B');
  t.assert.strictEqual(formatSize(1023), '1023 B');
  t.assert.strictEqual(formatSize(4096), '4 KiB');
  t.assert.strictEqual(formatSize(1536 * 1024), '1.5 MiB');
  t.assert.strictEqual(formatSize(1024 ** 3), '1 GiB');
});

test('formatRate() uses binary units too (MiB/s), like every size the CLI and web UI show', (t: TestContext) => {
  t.assert.strictEqual(formatRate(200 * 1024 * 1024, 2), ' (100 MiB/s)');
  t.assert.strictEqual(formatRate(0, 2), '');
});
