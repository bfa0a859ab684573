/**
 * The node home (docs/config.md): the folder holding ADDC/ — node.json (who this node
 * is), the key pairs, the trust store and the audit log. `initHome` makes one; `NodeHome.open` opens
 * one and hands out its keys, trust store and audit log.
 *
 * It must never change an existing home on `init`, never leave a half-made home, never load keys or
 * trust from a path someone else could have written, and never print.
 */
export { type AuditAction, type AuditEntry, type AuditSource, appendAudit } from './audit.ts';
export { type InitOptions, type InitResult, initHome } from './init.ts';
export {
  NODE_CONFIG_VERSION,
  type NodeConfig,
  readNodeConfig,
  validateNodeConfig,
  writeNodeConfig,
} from './node-config.ts';
export { NodeHome, openHome } from './open.ts';
export { ADDC, addcPaths, DIR_MODE, FILE_MODE, type HomePaths, homePaths } from './paths.ts';
