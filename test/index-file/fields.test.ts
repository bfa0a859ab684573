import { type TestContext, test } from 'node:test';
import {
  fileNameProblem,
  filePathProblem,
  isKeyFingerprint,
  isSha256Hex,
  isSignatureValue,
  isUtcTimestamp,
  isValidFileName,
} from '../../src/index-file/index.ts';

test('file names: one path component of 1 to 255 UTF-8 bytes without separators or controls', (t: TestContext) => {
  for (const name of [
    'a',
    'movie.mkv',
    '.hidden',
    '...',
    'a b',
    'café',
    '日本語.txt',
    '😀',
    'x'.repeat(255),
    'é'.repeat(127),
  ]) {
    t.assert.ok(isValidFileName(name), JSON.stringify(name));
  }
  for (const name of [
    '',
    '.',
    '..',
    'a/b',
    '/',
    'a\\b',
    'a\u0000',
    '\n',
    'a\u007f',
    'x'.repeat(256),
    'é'.repeat(128),
    'a\ud800',
    1,
    null,
  ]) {
    t.assert.ok(!isValidFileName(name), JSON.stringify(name));
    t.assert.strictEqual(typeof fileNameProblem(name), 'string');
  }
});

test('file paths (a file of a folder): file names joined by "/", no empty, "." or ".." component, bounded', (t: TestContext) => {
  for (const name of [
    'a',
    'photos/2024/img_0001.jpg',
    'photos/my holiday/Ĳsselmeer 夏.jpg',
    '.hidden/...',
    `${'d/'.repeat(63)}f`,
    `${'x'.repeat(255)}/${'y'.repeat(255)}`,
  ]) {
    t.assert.strictEqual(filePathProblem(name), undefined, name);
  }
  for (const name of [
    '',
    '/a',
    'a/',
    'a//b',
    '../a',
    'a/../b',
    'a/./b',
    '.',
    'a\\b/c',
    'a/b\u0000',
    `a/${'x'.repeat(256)}`,
    `${'d/'.repeat(64)}f`,
    `${'x/'.repeat(2100)}x`,
    'a/\ud800',
    1,
  ]) {
    t.assert.strictEqual(typeof filePathProblem(name), 'string', JSON.stringify(name));
  }
});

test('timestamps: UTC ISO 8601 with an optional fraction of 1 to 9 digits, naming a real instant', (t: TestContext) => {
  for (const ts of [
    '2026-11-26T10:15:30.123Z',
    '2026-11-26T10:15:30Z',
    '2024-02-29T00:00:00.1Z',
    '1970-01-01T00:00:00.123456789Z',
    new Date().toISOString(),
  ]) {
    t.assert.ok(isUtcTimestamp(ts), ts);
  }
  for (const ts of [
    '2026-11-26T10:15:30',
    '2026-11-26T10:15:30+00:00',
    '2026-11-26 10:15:30Z',
    '2026-02-29T00:00:00Z',
    '1900-02-29T00:00:00Z',
    '2026-04-31T00:00:00Z',
    '2026-13-01T00:00:00Z',
    '2026-00-01T00:00:00Z',
    '2026-01-01T24:00:00Z',
    '2026-01-01T00:60:00Z',
    '2026-01-01T00:00:60Z',
    '2026-01-01T00:00:00.Z',
    '2026-01-01T00:00:00.1234567890Z',
    '+012026-01-01T00:00:00Z',
    '2026-1-1T0:0:0Z',
    0,
  ]) {
    t.assert.ok(!isUtcTimestamp(ts), String(ts));
  }
});

test('SHA-256: exactly 64 lower-case hex digits', (t: TestContext) => {
  t.assert.ok(isSha256Hex('0123456789abcdef'.repeat(4)));
  for (const v of [
    '0123456789ABCDEF'.repeat(4),
    'a'.repeat(63),
    'a'.repeat(65),
    `${'a'.repeat(63)}g`,
    ` ${'a'.repeat(64)}`,
    1,
  ]) {
    t.assert.ok(!isSha256Hex(v), String(v));
  }
});

test('key fingerprints: "SHA256:" and canonical unpadded base64 of 32 bytes', (t: TestContext) => {
  const b64 = Buffer.alloc(32, 7).toString('base64').replace(/=$/, '');
  t.assert.ok(isKeyFingerprint(`SHA256:${b64}`));
  for (const v of [
    `SHA256:${b64}=`,
    `sha256:${b64}`,
    `SHA256:${b64.slice(1)}`,
    `SHA256:${b64.slice(0, 42)}B`,
    `SHA1:${b64}`,
    `SHA256:${b64.replace(/[+/]/g, '-')}x`,
  ]) {
    t.assert.ok(!isKeyFingerprint(v), v);
  }
});

test('signature values: canonical padded base64 of 1 to 1024 bytes', (t: TestContext) => {
  for (const n of [1, 2, 3, 384, 512, 1024]) {
    t.assert.ok(isSignatureValue(Buffer.alloc(n, 255).toString('base64')), `${n} bytes`);
  }
  for (const v of [
    '',
    'AAA',
    'AA',
    'AB==',
    'A===',
    'AAAA AAAA',
    '_-_-',
    Buffer.alloc(1025).toString('base64'),
    12,
  ]) {
    t.assert.ok(!isSignatureValue(v), String(v));
  }
});
