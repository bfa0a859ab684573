/**
 * What a node can be asked to do: one typed interface, implemented once by the daemon
 * (src/node/ops.ts). The control socket (src/control/routes.ts), the web UI (src/web/routes.ts) and
 * any later surface are thin adapters over it: they parse their transport, call one method, and
 * shape the answer; the policy (key sizes, job kinds and parameters, what a peer's answer may say)
 * lives behind this interface. Surfaces import this file as types only, never the daemon.
 */
import type { CheckProgress, CheckReport } from '../check/index.ts';
import type { AuditAction, AuditSource } from '../home/audit.ts';
import type { IndexFile } from '../index-file/index.ts';
import type { JobProgress, JobRecord } from '../jobs/types.ts';
import type { NodeInfo, NodeOrphans, NodeScrub } from '../transport/node-info.ts';
import type { JobKind, JobResults } from './jobs.ts';
import type { NodeMetrics } from './metrics.ts';

/** A pinned peer as every surface shows it. */
export interface PeerView {
  nodeUuid: string;
  label: string;
  bits: number;
  fingerprint: string;
  addedAt: string | null;
}

/** Where the address book says a node is. */
export interface Location {
  address: string | null;
  source: string | null;
  lastSeen: string | null;
}

/** A pinned peer probed now: online with what it says about itself, or why not. */
export type ProbedPeer = PeerView &
  Location &
  (
    | {
        state: 'online';
        name: string | null;
        version: string | null;
        free: number;
        trash: { chunks: number; bytes: number };
        stores: Array<{ online: boolean; free: number; capacity: number }>;
        scrub: NodeScrub | null;
        orphans: NodeOrphans | null;
      }
    | {
        state: 'offline' | 'unknown';
        error: string;
        code: string;
        reason: string | null;
      }
  );

export interface PairingPreview {
  nodeUuid: string;
  label: string;
  bits: number;
  fingerprint: string;
  /** Whether this node already pins that node: not, with this key, or with another key. */
  trusted: 'no' | 'same' | 'other-key';
}

export interface KeyView {
  keyUuid: string;
  bits: number;
  fingerprint: string;
  createdAt: string;
  active: boolean;
  hasPrivateKey: boolean;
}

export interface HostView {
  name: string;
  nodeUuid: string;
  keyUuid: string;
  bits: number;
  fingerprint: string;
  pairing: string;
  pem: string;
}

export interface NodeStatus extends NodeInfo {
  /** The bound cluster address, or null while the node is starting. */
  listen: string | null;
  peers: number;
  ready: boolean;
}

export interface Discovered {
  enabled: boolean;
  nodes: Array<{
    nodeUuid: string;
    name: string;
    address: string;
    fingerprintShort: string;
    instance: string;
    trust: string;
    seenAt: string;
  }>;
  duplicates: Array<{ address: string; instance: string }>;
}

export interface Resolved {
  nodeUuid: string;
  address: string;
  source: string;
  verified: boolean;
  state: string;
  lastSeen: string | null;
  seq: number | null;
}

/**
 * Nodes a person may want to pair with (docs/pairing.md "Pairing hints"): ones that completed a TLS
 * handshake here with a key this node does not trust (they pin this node), and ones discovery saw
 * that are not trusted. Nothing in it is trusted.
 */
export interface PairingHintsView {
  handshakes: Array<{
    nodeUuid: string;
    name: string | null;
    fingerprint: string;
    address: string;
    firstSeen: string;
    lastSeen: string;
  }>;
  discovered: Array<{
    nodeUuid: string;
    name: string;
    fingerprintShort: string;
    address: string;
    seenAt: string;
  }>;
}

/** What changed on the node, for surfaces that push updates (the web UI's event stream). */
export type NodeEvent =
  | { type: 'job'; job: JobRecord }
  | { type: 'cluster' }
  | { type: 'hints' }
  /** The catalog changed (a file uploaded, deleted or newly held here or on another node). */
  | { type: 'files' };

/** Where a streamed file goes (the web UI's one-click download). */
export interface FileSink {
  /** Called once, when the first chunk is verified: headers can be sent. */
  start(file: { name: string; size: number }): void;
  /** The file's next bytes; the buffer is reused once the promise settles. */
  write(piece: Buffer): Promise<void>;
}

/** A check report, each node named with its label. */
export type LabelledCheckReport = CheckReport & { nodes: Array<{ node: string; label: string | null }> };

/** A file of the cluster's catalog, with what the web UI's Files page shows of it. */
export interface KeptFile {
  id: string;
  name: string;
  /** Node UUID of the uploader and its name here; `mine` when this node uploaded it. */
  uploader: string;
  uploaderName: string | null;
  mine: boolean;
  size: number;
  sha256: string;
  chunks: number;
  copies: number;
  shift: number | null;
  createdAt: string;
  nodes: Array<{ nodeUuid: string; label: string | null }>;
  downloaded: boolean;
}

/** A file of the cluster as the catalog lists it (`ls`). */
export interface ClusterFile {
  id: string;
  name: string;
  size: number;
  sha256: string;
  /** Node UUID of the uploader, and its name here (this node's name, or the label it is pinned with). */
  uploader: string;
  uploaderName: string | null;
  uploadedAt: string;
  revision: number;
  /** Pieces stored of each chunk: copies, or K + M shards. */
  copies: number;
  chunks: number;
  /** How each chunk is kept: "2" (copies) or "2+1" (erasure coding K+M). */
  redundancy: string;
  /** Sealed on its uploader: only its readers can decrypt it. */
  encrypted: boolean;
  /** Whether this node uploaded it (only the uploader may delete it). */
  mine: boolean;
  /** The last check's verdict when one ran on this node since it started, else null (unknown). */
  health: 'healthy' | 'degraded' | 'unknown' | 'lost' | null;
}

/** A folder of the catalog: the files directly in it and its sub-folders (docs/catalog.md "Folders"). */
export interface FolderListing {
  /** The folder listed, without a trailing "/"; '' is the top. */
  path: string;
  folders: Array<{ name: string; path: string; files: number; bytes: number }>;
  files: ClusterFile[];
}

/** What `rm FOLDER --recursive` did: the files it deleted, and those it may not (others' uploads). */
export interface FolderRemoval {
  path: string;
  removed: Array<{ id: string; name: string; deletedAt: string }>;
  refused: Array<{ id: string; name: string; code: string; message: string }>;
}

export interface CheckOptions {
  deep?: boolean;
  signal: AbortSignal;
  onProgress?: (p: CheckProgress) => void;
}

/** Something a surface runs after parsing and before a change: the web UI asks for the password. */
export type Authorize = () => Promise<unknown>;

export interface NodeOps {
  readonly nodeUuid: string;
  /** The node's name (node.json). */
  name(): string;
  info(): Promise<NodeInfo>;
  status(): Promise<NodeStatus>;
  /** The bound cluster address as `host:port`. */
  listenAddress(): string;
  /** The figures `/metrics` reports (src/ops/metrics.ts). */
  metrics(): Promise<NodeMetrics>;
  /** One audit line (logins and password changes of the web UI). */
  audit(action: AuditAction, from: AuditSource, client?: string): Promise<void>;

  peers: {
    list(): PeerView[];
    preview(pairing: unknown): PairingPreview;
    add(pairing: unknown, from: AuditSource, authorize?: Authorize): Promise<PeerView & { added: boolean }>;
    /**
     * Revokes trust in a node. Its key is kept as retired, so the indexes the catalog accepted from it
     * stay readable; `compromised` retires nothing (docs/pairing.md "Removing a node").
     */
    remove(
      nodeUuid: unknown,
      from: AuditSource,
      authorize?: Authorize,
      options?: { compromised?: boolean },
    ): Promise<{ nodeUuid: string; label: string; fingerprint: string | null }>;
    /** Every pinned peer, probed now (a pinned handshake and `GET /v1/node`). */
    probe(signal: AbortSignal): Promise<ProbedPeer[]>;
    onRemoved(listener: (nodeUuid: string) => void): void;
    /** Nodes to pair with: refused handshakes and untrusted discovered nodes. */
    hints(): PairingHintsView;
    /**
     * Sets (or, with null, removes) the static address of a trusted node, kept in node.json
     * (`peerAddresses`) and dialled from now on: the twin of `serve --peer`.
     */
    setAddress(
      nodeUuid: unknown,
      address: unknown,
      from: AuditSource,
    ): Promise<{ nodeUuid: string; address: string | null }>;
    /** The static addresses kept in node.json, by node UUID. */
    addresses(): Record<string, string>;
  };

  keys: {
    host(): Promise<HostView>;
    list(): Promise<KeyView[]>;
    /** One policy on every surface: the sizes of GENERATE_RSA_BITS. */
    generate(
      bits: unknown,
      from: AuditSource,
      signal: AbortSignal,
    ): Promise<{ keyUuid: string; bits: number; fingerprint: string; active: false }>;
    activate(
      keyUuid: unknown,
      from: AuditSource,
      authorize?: Authorize,
    ): Promise<{ keyUuid: string; fingerprint: string; previousKey: string; changed: boolean }>;
  };

  jobs: {
    /** ERR_BAD_REQUEST for a kind the registry (src/ops/jobs.ts) does not have. */
    submit(kind: unknown, params: unknown): Promise<JobRecord>;
    /** Every job, a batch's files summarized (src/ops/jobs.ts listedJob); `get` has them whole. */
    list(): JobRecord[];
    get(id: string): JobRecord;
    cancel(id: string): Promise<JobRecord>;
    wait(
      id: string,
      options: { signal: AbortSignal; onChange?: (record: JobRecord) => void },
    ): Promise<JobRecord>;
  };

  files: {
    /** The cluster's files (the catalog), newest upload first. */
    list(signal: AbortSignal): Promise<KeptFile[]>;
    /** The newest index of file `id` in the catalog, else the one kept here; else ERR_NOT_FOUND. */
    index(id: string, signal: AbortSignal): Promise<IndexFile>;
    /** Where the web UI's download of a file goes, and whether it is there whole. */
    downloadPath(index: IndexFile): string;
    isDownloaded(index: IndexFile): Promise<boolean>;
    /** Starts a download job of file `id` into its download path. */
    download(id: string, signal: AbortSignal): Promise<JobRecord>;
    removeDownload(id: string, signal: AbortSignal): Promise<{ id: string; downloaded: false }>;
    /** The folder web uploads are staged in. */
    uploadsDir(): string;
    /** Streams file `id` from the cluster to `sink`, each chunk verified before it is written. */
    stream(id: string, sink: FileSink, signal: AbortSignal): Promise<void>;
  };

  /** The cluster's files, from the local catalog (no network round trip). */
  catalog: {
    list(): ClusterFile[];
    /**
     * The files directly in folder `path` ('' the top) and its sub-folders, with the files and bytes
     * under each. ERR_NOT_FOUND when no file is under a folder other than the top.
     */
    folder(path: unknown): FolderListing;
    /** Every file under folder `path` at any depth, by name (ERR_NOT_FOUND when none). */
    under(path: unknown): ClusterFile[];
    /** Signs a tombstone for every file under folder `path` this node uploaded. */
    removeFolder(path: unknown, from: AuditSource, authorize?: Authorize): Promise<FolderRemoval>;
    /**
     * The file named by `ref`: a file id, else a name. ERR_NOT_FOUND when none, ERR_NAME_AMBIGUOUS
     * (listing their ids) when several files have that name.
     */
    find(ref: unknown): ClusterFile;
    /** The newest signed index of the file `ref` names (`index export`). */
    index(ref: unknown): IndexFile;
    /** Signs a tombstone for the file (this node's uploads only: ERR_NOT_UPLOADER). */
    remove(
      ref: unknown,
      from: AuditSource,
      authorize?: Authorize,
    ): Promise<{ id: string; name: string; deletedAt: string }>;
  };

  check: {
    /** Checks every listed copy of the index at `path` (absolute). */
    path(path: unknown, options: CheckOptions): Promise<LabelledCheckReport>;
    /** Checks a file this node uploaded (see `files.index`). */
    file(id: string, options: CheckOptions): Promise<LabelledCheckReport>;
  };

  /** Subscribes to job, cluster and pairing-hint changes; returns the unsubscribe function. */
  events(listener: (event: NodeEvent) => void): () => void;

  cluster: {
    discover(): Discovered;
    resolve(nodeUuid: unknown, signal: AbortSignal): Promise<Resolved>;
  };
}

export type { CheckProgress, JobKind, JobProgress, JobResults, NodeScrub };
