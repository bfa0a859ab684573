/**
 * The rules that depend on what a node already holds (pure: the store passes what it holds). A
 * verified statement is accepted, a duplicate, or refused with a stable code:
 *
 * - seq: a statement whose seq was passed already is a duplicate (same bytes) or ERR_CATALOG_STALE;
 * - index: only the file's uploader (checked in verify.ts) and only a newer revision, or the same
 *   revision with the same index (a re-announcement); never after the uploader's tombstone;
 * - tombstone: only the uploader of the file; held before its index arrives, it counts only if the
 *   index turns out to be by the same node (else it is void and dropped, and the index is accepted);
 * - holdings: anyone about itself (the signer is the holder), but not for a deleted file (nor while a
 *   tombstone waits for its index: a holder re-signs its holdings after a repair anyway).
 *
 * `settled` tells the store whether a refusal is final for that signer and seq (the signature was
 * good, only the content is refused): the seq then counts as seen, so the exchange does not fetch the
 * same statement again and again.
 */
import { ArozError } from '../errors.ts';
import type { Statement } from './types.ts';

export interface HeldFile {
  readonly uploader: string;
  readonly revision: number;
  /** Identity of the held signed index (SHA-256 of its signature value). */
  readonly indexHash: string;
}

export interface HeldTombstone {
  readonly signer: string;
  readonly revision: number;
}

export interface Held {
  /** Highest seq seen from the statement's signer. */
  readonly maxSeq: number;
  /** Bytes of the stored statement with the same signer and seq, if any. */
  readonly sameSeq: Buffer | undefined;
  readonly file: HeldFile | undefined;
  readonly tombstone: HeldTombstone | undefined;
}

export type Judgement =
  | { readonly verdict: 'accept'; readonly voidTombstone: boolean }
  | { readonly verdict: 'duplicate' }
  | { readonly verdict: 'refuse'; readonly error: ArozError; readonly settled: boolean };

export function judge(
  statement: Statement,
  bytes: Buffer,
  indexHash: string | undefined,
  held: Held,
): Judgement {
  const name = `${statement.kind} statement ${statement.signer}#${statement.seq} about file "${statement.file}"`;
  if (held.sameSeq?.equals(bytes) === true) return { verdict: 'duplicate' };
  if (statement.seq <= held.maxSeq) {
    return refuse(
      'ERR_CATALOG_STALE',
      `The ${name} is older than seq ${held.maxSeq}, already seen from that node`,
      false,
    );
  }
  const tomb = held.tombstone;
  switch (statement.kind) {
    case 'index': {
      const revision = statement.body.index.revision ?? 0;
      if (tomb !== undefined && tomb.signer === statement.signer) {
        return refuse(
          'ERR_CATALOG_DELETED',
          `The ${name} comes after the file was deleted (revision ${tomb.revision})`,
        );
      }
      const file = held.file;
      if (file !== undefined) {
        if (file.uploader !== statement.signer) {
          return refuse(
            'ERR_CATALOG_SIGNER',
            `The ${name}: file "${statement.file}" was uploaded by node "${file.uploader}"`,
          );
        }
        if (revision < file.revision || (revision === file.revision && indexHash !== file.indexHash)) {
          return refuse(
            'ERR_CATALOG_STALE',
            `The ${name} holds revision ${revision}, but revision ${file.revision} is held${revision === file.revision ? ' with another index' : ''}`,
          );
        }
      }
      // A tombstone held before any index, by another node than the uploader, is void.
      return { verdict: 'accept', voidTombstone: tomb !== undefined };
    }
    case 'tombstone': {
      const file = held.file;
      if (file !== undefined && file.uploader !== statement.signer) {
        return refuse(
          'ERR_CATALOG_SIGNER',
          `The ${name}: only its uploader, node "${file.uploader}", may delete it`,
        );
      }
      if (tomb !== undefined && tomb.signer !== statement.signer) {
        return refuse('ERR_CATALOG_SIGNER', `The ${name}: the file was deleted by node "${tomb.signer}"`);
      }
      return { verdict: 'accept', voidTombstone: false };
    }
    case 'holdings': {
      if (tomb !== undefined)
        return refuse('ERR_CATALOG_DELETED', `The ${name} comes after the file was deleted`);
      return { verdict: 'accept', voidTombstone: false };
    }
  }
}

function refuse(code: ArozError['code'], message: string, settled = true): Judgement {
  return { verdict: 'refuse', error: new ArozError(code, message), settled };
}
