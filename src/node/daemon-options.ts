/**
 * What a start of the daemon may set (src/node/daemon.ts): where it listens, its stores and static
 * peers, discovery, the web UI, and timings and limits in place of node.json's (tests shorten them).
 */
import type { PeerAddress } from '../transport/pool.ts';
import type { ScrubSettings } from './scrub.ts';
import type { TaskLimits } from './tasks.ts';
import type { WebUiOptions } from './web-ui.ts';

export interface DaemonOptions {
  home: string;
  /** Cluster address `host:port` (else node.json's `listen`, else 0.0.0.0:7420). Port 0 picks one. */
  listen?: string;
  /** Extra store folders (registered in node.json the first time). */
  stores?: string[];
  /** Static peer addresses. */
  peers?: Array<{ uuid: string } & PeerAddress>;
  /** A request body that makes no progress for this long is abandoned. */
  idleMs?: number;
  /** mDNS: false for `--no-discovery`; else where to announce and browse (default: the LAN). */
  discovery?: false | { interface?: string; bind?: string; port?: number };
  /** Heartbeat interval in ms (default 10 s). */
  heartbeatMs?: number;
  /** Seconds a deleted chunk stays in the trash (default: node.json's `trashGraceSeconds`, else a day). */
  trashGraceSeconds?: number;
  /** Milliseconds between two catalog syncs with each peer (default: node.json's `catalogSyncSeconds`, else 60 s). */
  catalogSyncMs?: number;
  /** One line for people (the daemon entry prints it). */
  log?: (line: string) => void;
  /**
   * The web UI: `host:port` (port 0 picks one), or false for none (the default here; `serve` passes
   * 127.0.0.1:7421). A non-loopback host, or `tls: true`, serves HTTPS with the web UI's own key and
   * certificate (ADDC/web-tls.pem, made the first time), never the node's identity key.
   */
  web?: false | WebUiOptions;
  /** Limits of the node-to-node tasks this node runs for its peers (docs/protocol.md "Tasks"). */
  tasks?: Partial<TaskLimits>;
  /** The scrub (docs/store.md): node.json's `scrubPassSeconds` and `scrubMaxBytesPerSecond`, else defaults. */
  scrub?: Partial<ScrubSettings>;
  /**
   * Repair (docs/repair.md): ms a peer may be unreachable before its copies count no more, and ms
   * between two periodic passes (0: none). Else node.json's `repairGoneSeconds` and
   * `repairIntervalSeconds`, else 15 and 10 minutes; the orphans' safety age, else node.json's
   * `orphanAgeSeconds`, else 24 hours.
   */
  repair?: { goneMs?: number; intervalMs?: number; orphanAgeMs?: number };
}
