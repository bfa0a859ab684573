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
  /** The `after` asked for: a statement at or below it, or out of seq order, is refused. */
  readonly after: number;
}

export interface BatchResult extends ApplyResult {
  /**
   * Good statements of an answer (a batch with an origin) that came after a statement that did not
   * verify: not stored, not refused, fetched again later (from this peer or another). Storing them
   * would move this node's seq for the signer past the bad one, and a trusted peer could then make
   * it skip a statement for good by sending a forgery in its place.
   */
  readonly held: number;
  /** A statement of an answer did not verify: ask this signer again later, from `after` as it was. */
  readonly stopped: boolean;
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
): BatchResult {
  checkBatchSize(batch);
  const verified: VerifiedStatement[] = [];
  const positions: number[] = [];
  const refused: Refusal[] = [];
  let previous = origin?.after ?? 0;
  let broken = false;
  let held = 0;
  batch.forEach((bytes, position) => {
    try {
      const v = verifyStatement(bytes, keys);
      const { signer, seq } = v.statement;
      if (origin !== undefined && (signer !== origin.signer || seq <= previous)) {
        throw new ArozError(
          'ERR_CATALOG_INVALID',
          `Statement ${signer}#${seq} does not follow seq ${previous} in answer to "${origin.signer} after ${origin.after}"`,
        );
      }
      previous = seq;
      if (broken) held++;
      else {
        verified.push(v);
        positions.push(position);
      }
    } catch (err) {
      if (!isArozError(err)) throw err;
      refused.push({ position, signer: undefined, seq: undefined, code: err.code, message: err.message });
      if (origin !== undefined) broken = true;
    }
  });
  const result = store.apply(verified);
  for (const r of result.refused) refused.push({ ...r, position: positions[r.position] ?? r.position });
  refused.sort((a, b) => a.position - b.position);
  return {
    accepted: result.accepted,
    duplicates: result.duplicates,
    refused,
    deleted: result.deleted,
    held,
    stopped: broken,
  };
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
  held: number;
  batches: number;
}

/** Fetches from `peer` everything it has that we miss, batch by batch, until it has nothing newer. */
export async function syncFrom(
  peer: CatalogPeer,
  store: CatalogStore,
  keys: CatalogKeys,
  options: SyncOptions = {},
): Promise<SyncResult> {
  const total: SyncResult = { accepted: 0, duplicates: 0, refused: 0, held: 0, batches: 0 };
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
      total.held += result.held;
      for (const refusal of result.refused) options.onRefused?.(refusal);
      if (result.deleted.length > 0) options.onDeleted?.(result.deleted);
      // After a statement that did not verify, ask this signer again next round (or another peer).
      if (result.stopped || !batch.more || batch.last <= after) break;
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
