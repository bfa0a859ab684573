/**
 * The catalog exchange without the network (docs/catalog.md, "Exchange"): what to ask a peer for,
 * how to take in a batch it sent, and a sync loop over any `CatalogPeer` — another store in the same
 * process (tests, the benchmark) or, once wired, a client of the cluster port's catalog endpoints.
 *
 * A batch is verified statement by statement before one transaction stores the good ones; a bad
 * statement is refused with a code and never stored, and never stops the rest of the batch.
 */
import { ArozError, isArozError } from '../errors.ts';
import type {
  ApplyResult,
  BatchLimits,
  CatalogStore,
  CatalogTombstone,
  Refusal,
  StatementBatch,
} from './store.ts';
import { CATALOG_LIMITS, type CatalogKeys, type VerifiedStatement } from './types.ts';
import { verifyStatement } from './verify.ts';

/** What to fetch from one signer: its statements with seq > `after`. */
export interface Want {
  readonly signer: string;
  readonly after: number;
}

/**
 * Signers the peer has newer statements of than we do, and only those we could verify (pinned, or
 * ourselves): asking for an unknown signer's statements would only fetch refusals.
 */
export function wants(
  local: ReadonlyMap<string, number>,
  remote: ReadonlyMap<string, number>,
  keys: CatalogKeys,
): Want[] {
  const out: Want[] = [];
  for (const [signer, theirs] of remote) {
    const ours = local.get(signer) ?? 0;
    if (theirs > ours && keys.keysOf(signer).length > 0) out.push({ signer, after: ours });
  }
  return out.sort((a, b) => (a.signer < b.signer ? -1 : a.signer > b.signer ? 1 : 0));
}

export interface BatchOrigin {
  /** The signer the batch was asked for: a statement of another signer is refused. */
  readonly signer: string;
  /** The `after` asked for: a statement at or below it is refused. */
  readonly after: number;
}

/**
 * Verifies and stores one received batch. Throws ERR_CATALOG_TOO_LARGE (and stores nothing) when the
 * batch is over its count or byte cap; otherwise returns what was accepted and each refusal.
 */
export function applyBatch(
  store: CatalogStore,
  keys: CatalogKeys,
  batch: readonly Uint8Array[],
  origin?: BatchOrigin,
): ApplyResult {
  checkBatchSize(batch);
  const verified: VerifiedStatement[] = [];
  const positions: number[] = [];
  const refused: Refusal[] = [];
  batch.forEach((bytes, position) => {
    try {
      const v = verifyStatement(bytes, keys);
      const { signer, seq } = v.statement;
      if (origin !== undefined && (signer !== origin.signer || seq <= origin.after)) {
        throw new ArozError(
          'ERR_CATALOG_INVALID',
          `Statement ${signer}#${seq} was sent in answer to "${origin.signer} after ${origin.after}"`,
        );
      }
      verified.push(v);
      positions.push(position);
    } catch (err) {
      if (!isArozError(err)) throw err;
      refused.push({ position, signer: undefined, seq: undefined, code: err.code, message: err.message });
    }
  });
  const result = store.apply(verified);
  for (const r of result.refused) refused.push({ ...r, position: positions[r.position] ?? r.position });
  refused.sort((a, b) => a.position - b.position);
  return { accepted: result.accepted, duplicates: result.duplicates, refused, deleted: result.deleted };
}

/** Refuses a batch over CATALOG_LIMITS (count, or bytes beyond what one statement may need). */
export function checkBatchSize(batch: readonly Uint8Array[]): void {
  if (batch.length > CATALOG_LIMITS.maxBatchCount) {
    throw new ArozError(
      'ERR_CATALOG_TOO_LARGE',
      `A catalog batch of ${batch.length} statements is over the limit of ${CATALOG_LIMITS.maxBatchCount}`,
    );
  }
  let bytes = 0;
  for (const s of batch) bytes += s.byteLength;
  if (bytes > CATALOG_LIMITS.maxBatchBytes && batch.length > 1) {
    throw new ArozError(
      'ERR_CATALOG_TOO_LARGE',
      `A catalog batch of ${bytes} bytes is over the limit of ${CATALOG_LIMITS.maxBatchBytes}`,
    );
  }
}

/** Where statements come from: another store here, or a peer over the cluster port. */
export interface CatalogPeer {
  summary(options: { signal?: AbortSignal }): Promise<ReadonlyMap<string, number>>;
  statementsAfter(
    signer: string,
    after: number,
    options: BatchLimits & { signal?: AbortSignal },
  ): Promise<StatementBatch>;
}

export interface SyncOptions {
  signal?: AbortSignal;
  /** Each refused statement, once (the caller logs it). */
  onRefused?: (refusal: Refusal) => void;
  /** Tombstones a batch accepted (the caller moves those files' chunks to trash; see ApplyResult). */
  onDeleted?: (tombstones: readonly CatalogTombstone[]) => void;
  limits?: BatchLimits;
}

export interface SyncResult {
  accepted: number;
  duplicates: number;
  refused: number;
  batches: number;
}

/** Fetches from `peer` everything it has that we miss, batch by batch, until it has nothing newer. */
export async function syncFrom(
  peer: CatalogPeer,
  store: CatalogStore,
  keys: CatalogKeys,
  options: SyncOptions = {},
): Promise<SyncResult> {
  const total: SyncResult = { accepted: 0, duplicates: 0, refused: 0, batches: 0 };
  const remote = await peer.summary(options.signal === undefined ? {} : { signal: options.signal });
  for (const want of wants(store.summary(), remote, keys)) {
    let after = want.after;
    for (;;) {
      options.signal?.throwIfAborted();
      const batch = await peer.statementsAfter(want.signer, after, {
        ...options.limits,
        ...(options.signal ? { signal: options.signal } : {}),
      });
      if (batch.statements.length === 0) break;
      const result = applyBatch(store, keys, batch.statements, { signer: want.signer, after });
      total.batches++;
      total.accepted += result.accepted;
      total.duplicates += result.duplicates;
      total.refused += result.refused.length;
      for (const refusal of result.refused) options.onRefused?.(refusal);
      if (result.deleted.length > 0) options.onDeleted?.(result.deleted);
      if (!batch.more || batch.last <= after) break;
      after = batch.last;
    }
  }
  return total;
}

/** A store in this process as a CatalogPeer (tests and the benchmark; the wire does the same). */
export function localPeer(store: CatalogStore): CatalogPeer {
  return {
    summary: async () => store.summary(),
    statementsAfter: async (signer, after, limits) => store.statementsAfter(signer, after, limits),
  };
}
