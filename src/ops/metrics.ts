/**
 * What `/metrics` reports (docs/web.md "Metrics"): one snapshot of the node's figures, read from the
 * parts the daemon already keeps (stores, chunk traffic, jobs, repair, scrub, peers, catalog). The
 * daemon fills it (src/node/metrics.ts); the web UI formats it (src/web/metrics.ts). Counters count
 * since the daemon started; everything else is as it is now.
 */
import type { JobState } from '../jobs/types.ts';

export interface StoreMetrics {
  id: string;
  kind: string;
  online: boolean;
  capacity: number;
  free: number;
  /** Bytes of stored chunks and trash. */
  used: number;
  chunks: number;
  trash: { chunks: number; bytes: number };
  quarantine: { chunks: number; bytes: number };
}

export interface NodeMetrics {
  node: { uuid: string; name: string; version: string; startedAt: number };
  stores: StoreMetrics[];
  /** Chunk bytes peers sent to this node's cluster port (PUT bodies) and read from it (GET bodies). */
  traffic: { receivedBytes: number; servedBytes: number; inFlight: number };
  /** File bytes of the upload and download jobs that finished (done) since the daemon started. */
  jobBytes: { upload: number; download: number };
  /** Jobs kept by the job manager, by kind and state. */
  jobs: Array<{ kind: string; state: JobState; count: number }>;
  repair: {
    passes: number;
    copies: number;
    bytes: number;
    /** The last pass (periodic or asked for), or null before the first. */
    last: {
      at: string;
      chunks: number;
      underReplicated: number;
      stillShort: number;
      failures: number;
    } | null;
  };
  scrub: { checked: number; corrupt: number } | null;
  peers: { trusted: number; online: number };
  catalog: { files: number; tombstones: number };
  discovery: { enabled: boolean; visible: number };
}
