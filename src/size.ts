/**
 * SIZE arguments of the CLI (`--chunk-size 64MiB`): a whole number of bytes, optionally with a unit,
 * read like GNU split reads them. K, M, G, T and KiB, MiB, GiB, TiB are powers of 1024; KB, MB, GB,
 * TB are powers of 1000; a plain number may end in B. Units are case-insensitive. No fractions, signs,
 * spaces, exponents or hex; the result must be a safe integer. Failures are ERR_INVALID_SIZE.
 */
import { ArozError } from './errors.ts';
import { MAX_CHUNK_SIZE, MIN_CHUNK_SIZE } from './index-file/types.ts';

const MULTIPLIERS: Readonly<Record<string, bigint>> = {
  '': 1n,
  b: 1n,
  k: 1024n,
  m: 1024n ** 2n,
  g: 1024n ** 3n,
  t: 1024n ** 4n,
  kib: 1024n,
  mib: 1024n ** 2n,
  gib: 1024n ** 3n,
  tib: 1024n ** 4n,
  kb: 1000n,
  mb: 1000n ** 2n,
  gb: 1000n ** 3n,
  tb: 1000n ** 4n,
};

const MiB = 1024 * 1024;

/** Digits (at most 30, so the BigInt stays small), then letters; everything else is refused. */
const SIZE = /^([0-9]{1,30})([A-Za-z]{0,3})$/;

/** Parses a SIZE; `what` names it in the error ("chunk size"). */
export function parseSize(text: string, what: string): number {
  const match = SIZE.exec(text);
  const multiplier = match === null ? undefined : MULTIPLIERS[match[2]!.toLowerCase()];
  if (match === null || multiplier === undefined) {
    throw new ArozError(
      'ERR_INVALID_SIZE',
      `Invalid ${what} ${quote(text)}: expected a whole number of bytes, optionally with a unit such as 4096, 64KiB, 64M or 1GiB`,
    );
  }
  const bytes = BigInt(match[1]!) * multiplier;
  if (bytes > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new ArozError('ERR_INVALID_SIZE', `Invalid ${what} ${quote(text)}: the number is too large`);
  }
  return Number(bytes);
}

/** Parses a chunk size and checks it lies in [MIN_CHUNK_SIZE, MAX_CHUNK_SIZE]. */
export function parseChunkSize(text: string): number {
  return checkChunkSize(parseSize(text, 'chunk size'), text);
}

/** Returns `bytes` if it is a valid chunk size; else ERR_INVALID_SIZE (quoting `shown` if given). */
export function checkChunkSize(bytes: number, shown: string = String(bytes)): number {
  if (!Number.isSafeInteger(bytes) || bytes < MIN_CHUNK_SIZE) {
    throw new ArozError(
      'ERR_INVALID_SIZE',
      `Chunk size ${quote(shown)} is below the minimum of 4 KiB (${MIN_CHUNK_SIZE} bytes)`,
    );
  }
  if (bytes > MAX_CHUNK_SIZE) {
    throw new ArozError(
      'ERR_INVALID_SIZE',
      `Chunk size ${quote(shown)} is above the maximum of 4 GiB - 1 byte (${MAX_CHUNK_SIZE} bytes)`,
    );
  }
  return bytes;
}

/** A human size: bytes below 1 KiB, else KiB/MiB/GiB/TiB with up to one decimal. */
export function formatSize(bytes: number): string {
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  if (bytes < 1024) return `${bytes} B`;
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  const shown = Number.isInteger(value) ? String(value) : value.toFixed(1);
  return `${shown} ${units[unit]}`;
}

/** " (123 MiB/s)" in binary units like every other size shown, or "" when too little was moved to say. */
export function formatRate(bytes: number, seconds: number): string {
  if (bytes === 0 || seconds <= 0) return '';
  return ` (${Math.round(bytes / MiB / seconds)} MiB/s)`;
}

function quote(text: string): string {
  return JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text);
}
