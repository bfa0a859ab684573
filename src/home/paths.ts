/**
 * Where things live in a node home (DESIGN.md §4, docs/config.md). Paths are built only here, and
 * only from fixed names and canonical UUIDs.
 */
import { join } from 'node:path';

export interface HomePaths {
  /** The node home (absolute, symlinks resolved). */
  readonly home: string;
  /** ADDC/: identity, keys, trust. */
  readonly addc: string;
  readonly nodeJson: string;
  /** ADDC/keypairs/: this node's key pairs. */
  readonly keypairs: string;
  /** ADDC/keypairs/remote/: pinned peer keys. */
  readonly remote: string;
  readonly auditLog: string;
}

export const ADDC = 'ADDC';
/** Folders in ADDC are 0700; every file in it is 0600. */
export const DIR_MODE = 0o700;
export const FILE_MODE = 0o600;

export function homePaths(home: string): HomePaths {
  return { home, ...addcPaths(join(home, ADDC)) };
}

/** The paths inside an ADDC folder (also used for the staging folder `init` renames to ADDC). */
export function addcPaths(addc: string): Omit<HomePaths, 'home'> {
  const keypairs = join(addc, 'keypairs');
  return {
    addc,
    nodeJson: join(addc, 'node.json'),
    keypairs,
    remote: join(keypairs, 'remote'),
    auditLog: join(addc, 'audit.log'),
  };
}
