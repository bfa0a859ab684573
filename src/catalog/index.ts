/**
 * The catalog (docs/catalog.md): every trusted node's full copy of the cluster's signed statements —
 * each file's newest index (by its uploader), tombstones (by the uploader) and holdings (by each
 * holder) — and the queries `ls`, `download NAME|ID`, `rm` and the exchange answer from.
 *
 * Pure core (statement, verify, rules, exchange, issue) plus one store on node:sqlite. It imports only
 * errors, uuid, index-file and keys (test/catalog/imports.test.ts checks it). It never prints, never
 * opens a socket, and never stores a statement that did not verify against the pinned key of its
 * signer: no node can put words in another's mouth.
 */
export {
  applyBatch,
  type BatchOrigin,
  type BatchResult,
  type CatalogPeer,
  checkBatchSize,
  localPeer,
  type SyncOptions,
  type SyncResult,
  syncFrom,
  type Want,
  wants,
} from './exchange.ts';
export { type IssueOptions, issueStatement, issueStatements, type OwnStatement } from './issue.ts';
export { type Held, type Judgement, judge } from './rules.ts';
export { SqliteCatalogStore } from './sqlite-store.ts';
export {
  decodeStatement,
  encodeStatement,
  parseStatement,
  signStatement,
  statementForms,
  statementPayload,
} from './statement.ts';
export type {
  ApplyResult,
  BatchLimits,
  CatalogFile,
  CatalogStore,
  CatalogTombstone,
  Refusal,
  StatementBatch,
} from './store.ts';
export * from './types.ts';
export { catalogKeys, verifyStatement } from './verify.ts';
