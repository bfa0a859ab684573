/**
 * This node's own statements: choose the next seq, sign, verify and store in one step, so a statement
 * the node sends out is always one it holds itself.
 *
 * The seq is max(highest seq seen from this node + 1, now in ms): it grows even if the catalog file
 * was lost and the node's older statements live only on its peers (as long as the clock is not far
 * behind), the same rule as the address records' seq (src/cluster/seq-store.ts).
 */
import { ArozError } from '../errors.ts';
import type { KeyPair } from '../keys/index.ts';
import { signStatement } from './statement.ts';
import type { CatalogStore } from './store.ts';
import type { CatalogKeys, HoldingsBody, IndexBody, Statement, TombstoneBody } from './types.ts';
import { verifyStatement } from './verify.ts';

export type OwnStatement =
  | { kind: 'index'; file: string; body: IndexBody }
  | { kind: 'tombstone'; file: string; body: TombstoneBody }
  | { kind: 'holdings'; file: string; body: HoldingsBody };

export interface IssueOptions {
  /** This node's UUID (the signer). */
  self: string;
  /** This node's active key pair. */
  keyPair: KeyPair;
  keys: CatalogKeys;
  /** Clock in ms (tests inject one). */
  now?: () => number;
}

/**
 * Signs `own` with the next seq and stores it. Throws the refusal's ArozError when the catalog refuses
 * it (ERR_CATALOG_STALE for an older revision, ERR_CATALOG_SIGNER for another node's file,
 * ERR_CATALOG_DELETED after a tombstone, ERR_CATALOG_TOO_LARGE for an index over the cap).
 */
export function issueStatement(store: CatalogStore, own: OwnStatement, options: IssueOptions): Statement {
  const seq = Math.max(store.maxSeq(options.self) + 1, Math.floor((options.now ?? Date.now)()));
  if (!Number.isSafeInteger(seq))
    throw new ArozError('ERR_HOME_INVALID', 'The catalog seq of this node is exhausted');
  const statement = signStatement(
    { ...own, signer: options.self, seq } as Parameters<typeof signStatement>[0],
    options.keyPair,
  );
  const verified = verifyStatement(statement, options.keys);
  const result = store.apply([verified]);
  const refusal = result.refused[0];
  if (refusal !== undefined) throw new ArozError(refusal.code, refusal.message);
  return statement;
}

/**
 * Signs several statements of this node with consecutive seqs and stores them in one transaction (a
 * batch upload's indexes: one commit, one fsync, for many files). Returns the refusals by file; the
 * statements the catalog took are stored whatever happened to the others.
 */
export function issueStatements(
  store: CatalogStore,
  own: readonly OwnStatement[],
  options: IssueOptions,
): Map<string, ArozError> {
  const first = Math.max(store.maxSeq(options.self) + 1, Math.floor((options.now ?? Date.now)()));
  if (!Number.isSafeInteger(first + own.length))
    throw new ArozError('ERR_HOME_INVALID', 'The catalog seq of this node is exhausted');
  const verified = own.map((s, k) =>
    verifyStatement(
      signStatement(
        { ...s, signer: options.self, seq: first + k } as Parameters<typeof signStatement>[0],
        options.keyPair,
      ),
      options.keys,
    ),
  );
  const result = store.apply(verified);
  return new Map(result.refused.map((r) => [own[r.position]?.file ?? '', new ArozError(r.code, r.message)]));
}
