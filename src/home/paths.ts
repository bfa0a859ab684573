/**
 * Where things live in a node home (docs/config.md). Paths are built only here, and
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
  /** ADDC/address-seq.json: the sequence number of this node's address records. */
  readonly addressSeq: string;
  /** ADDC/web-tls.pem: the web UI's own key and certificate. */
  readonly webTls: string;
  /** ADDC/web-admin.json: the web UI's password hash. */
  readonly webAdmin: string;
  /** ADDC/retired-peers.json: keys of removed peers whose accepted indexes stay readable (src/keys/retired.ts). */
  readonly retiredPeers: string;
  /** run/: the control socket (when its path is short enough). */
  readonly run: string;
  /** stores/default/: the store used when node.json lists none. */
  readonly defaultStore: string;
  /** indexes/: a copy of every index this node signed (`<file id>.json`). */
  readonly indexes: string;
  /** catalog.db: the catalog of the cluster's files (docs/catalog.md), SQLite with its -wal and -shm. */
  readonly catalog: string;
  /** jobs/: background job records and their work folders. */
  readonly jobs: string;
  /** uploads/: web UI uploads, staged until their job ends. */
  readonly uploads: string;
  /** downloads/: the web UI's downloads (`<file id>/<file name>`). */
  readonly downloads: string;
}

/** The paths inside ADDC/. */
export type AddcPaths = Pick<
  HomePaths,
  | 'addc'
  | 'nodeJson'
  | 'keypairs'
  | 'remote'
  | 'auditLog'
  | 'addressSeq'
  | 'webTls'
  | 'webAdmin'
  | 'retiredPeers'
>;

export const ADDC = 'ADDC';
/** Folders in ADDC are 0700; every file in it is 0600. */
export const DIR_MODE = 0o700;
export const FILE_MODE = 0o600;

export function homePaths(home: string): HomePaths {
  return {
    home,
    ...addcPaths(join(home, ADDC)),
    run: join(home, 'run'),
    defaultStore: join(home, 'stores', 'default'),
    indexes: join(home, 'indexes'),
    catalog: join(home, 'catalog.db'),
    jobs: join(home, 'jobs'),
    uploads: join(home, 'uploads'),
    downloads: join(home, 'downloads'),
  };
}

/** The kept copy of the index of file `id` (a canonical UUID: the caller checked it). */
export function keptIndexPath(paths: HomePaths, id: string): string {
  return join(paths.indexes, `${id}.json`);
}

/** Where the web UI downloads file `id` named `name` (a checked index file name). */
export function downloadPath(paths: HomePaths, id: string, name: string): string {
  return join(paths.downloads, id, name);
}

/** The paths inside an ADDC folder (also used for the staging folder `init` renames to ADDC). */
export function addcPaths(addc: string): AddcPaths {
  const keypairs = join(addc, 'keypairs');
  return {
    addc,
    nodeJson: join(addc, 'node.json'),
    keypairs,
    remote: join(keypairs, 'remote'),
    auditLog: join(addc, 'audit.log'),
    addressSeq: join(addc, 'address-seq.json'),
    webTls: join(addc, 'web-tls.pem'),
    webAdmin: join(addc, 'web-admin.json'),
    retiredPeers: join(addc, 'retired-peers.json'),
  };
}
