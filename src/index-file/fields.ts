/**
 * The rules for single fields of an index (docs/index-format.md, "Fields"): SHA-256 hex, file names,
 * timestamps, key fingerprints, signature values. Pure predicates, usable before an index is built
 * (slice checks a file name with `fileNameProblem` before cutting anything).
 */
import { MAX_NAME_BYTES } from './types.ts';

const SHA256_HEX = /^[0-9a-f]{64}$/;
const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d{1,9})?Z$/;
const FINGERPRINT = /^SHA256:[A-Za-z0-9+/]{43}$/;
const BASE64_PADDED = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
/** An RSA-8192 signature is 1024 bytes; that is the largest key arozdfs accepts. */
export const MAX_SIGNATURE_BYTES = 1024;

/** 64 lower-case hex digits. */
export function isSha256Hex(value: unknown): value is string {
  return typeof value === 'string' && SHA256_HEX.test(value);
}

/**
 * Why `name` cannot be `file.name`, as the end of a sentence ("is empty", "contains "/"", …), or
 * undefined when it can. A name is one path component: 1..255 UTF-8 bytes; not `.` or `..`; no `/`,
 * no `\` (a separator on Windows), no control character (U+0000–U+001F, U+007F).
 */
export function fileNameProblem(name: unknown): string | undefined {
  if (typeof name !== 'string') return 'is not a string';
  if (name === '') return 'is empty';
  if (name === '.' || name === '..') return 'is not a file name';
  for (let k = 0; k < name.length; k++) {
    const c = name.charCodeAt(k);
    if (c === 0x2f) return 'contains "/"';
    if (c === 0x5c) return 'contains "\\"';
    if (c < 0x20 || c === 0x7f)
      return `contains the control character U+${c.toString(16).toUpperCase().padStart(4, '0')}`;
  }
  if (!name.isWellFormed()) return 'contains a lone surrogate';
  if (Buffer.byteLength(name, 'utf8') > MAX_NAME_BYTES) return `is longer than ${MAX_NAME_BYTES} UTF-8 bytes`;
  return undefined;
}

export function isValidFileName(name: unknown): name is string {
  return fileNameProblem(name) === undefined;
}

/** Most UTF-8 bytes of a file path in `file.name` (its components joined by "/"). */
export const MAX_PATH_BYTES = 4096;
/** Most components (folders and the file) of a file path. */
export const MAX_PATH_DEPTH = 64;

/**
 * Why `name` cannot be `file.name` of a distributed file (a file of a folder keeps its path:
 * `photos/2024/img_0001.jpg`), or undefined when it can: one or more file names (`fileNameProblem`)
 * joined by "/", so no leading, trailing or doubled "/", no `.` or `..` component, at most
 * MAX_PATH_DEPTH components and MAX_PATH_BYTES UTF-8 bytes (docs/catalog.md "Folders").
 */
export function filePathProblem(name: unknown): string | undefined {
  if (typeof name !== 'string') return 'is not a string';
  if (!name.includes('/')) return fileNameProblem(name);
  if (Buffer.byteLength(name, 'utf8') > MAX_PATH_BYTES) return `is longer than ${MAX_PATH_BYTES} UTF-8 bytes`;
  const parts = name.split('/');
  if (parts.length > MAX_PATH_DEPTH) return `has more than ${MAX_PATH_DEPTH} components`;
  for (const part of parts) {
    if (part === '') return 'has an empty component (a leading, trailing or doubled "/")';
    const problem = fileNameProblem(part);
    if (problem !== undefined) return `has a component that ${problem}`;
  }
  return undefined;
}

/**
 * `YYYY-MM-DDTHH:MM:SSZ` with an optional fraction of 1–9 digits, in UTC, naming a real instant
 * (no month 13, no February 30, no leap second 60). `Date.prototype.toISOString()` writes this form.
 */
export function isUtcTimestamp(value: unknown): value is string {
  if (typeof value !== 'string') return false;
  const m = TIMESTAMP.exec(value);
  if (m === null) return false;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  return (
    month >= 1 &&
    month <= 12 &&
    day >= 1 &&
    day <= daysInMonth(year, month) &&
    hour <= 23 &&
    minute <= 59 &&
    second <= 59
  );
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/** `SHA256:` and the unpadded, canonical base64 of 32 bytes (docs/index-format.md, `signature.key`). */
export function isKeyFingerprint(value: unknown): value is string {
  return (
    typeof value === 'string' &&
    FINGERPRINT.test(value) &&
    Buffer.from(value.slice(7), 'base64').toString('base64') === `${value.slice(7)}=`
  );
}

/** Canonical padded base64 (RFC 4648 §4) of 1..1024 bytes. */
export function isSignatureValue(value: unknown): value is string {
  if (typeof value !== 'string' || value.length === 0) return false;
  if (value.length > Math.ceil(MAX_SIGNATURE_BYTES / 3) * 4 || !BASE64_PADDED.test(value)) return false;
  const padding = value.endsWith('==') ? 2 : value.endsWith('=') ? 1 : 0;
  if ((value.length / 4) * 3 - padding > MAX_SIGNATURE_BYTES) return false;
  return Buffer.from(value, 'base64').toString('base64') === value;
}
