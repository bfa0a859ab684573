/**
 * UUIDs in arozdfs (node, key, chunk, index, store) are v4, accepted only in canonical lower-case
 * form. Paths are only ever built from a UUID that passed `isUuid`, so `../../etc/passwd` can never
 * become a path.
 */
import { randomUUID } from 'node:crypto';
import { ArozError } from './errors.ts';

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && UUID_V4.test(value);
}

/** Returns `value` if it is a canonical lower-case v4 UUID; else throws ERR_INVALID_UUID naming `what`. */
export function assertUuid(value: unknown, what: string): string {
  if (isUuid(value)) return value;
  const shown = typeof value === 'string' ? JSON.stringify(value.slice(0, 80)) : typeof value;
  throw new ArozError('ERR_INVALID_UUID', `${what} ${shown} is not a canonical lower-case v4 UUID`);
}

export function newUuid(): string {
  return randomUUID();
}
