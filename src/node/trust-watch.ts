/**
 * The trust watcher: the trust store read again when ADDC/remote changes, and every two seconds in
 * case a change goes unseen (a key file deleted by hand); a node no longer trusted has its
 * connections closed at once, both the ones it dialled and the ones this node dialled.
 */
import { type FSWatcher, watch } from 'node:fs';
import { ArozError } from '../errors.ts';
import type { TrustStore } from '../keys/trust-store.ts';
import type { PeerPool } from '../transport/pool.ts';
import type { NodeServer } from '../transport/server.ts';

const TRUST_RELOAD_MS = 2_000;

/** Re-reads the trust store from disk; one that cannot be read is a line in the log. */
export async function reloadTrust(
  trust: Pick<TrustStore, 'reload'>,
  log: (line: string) => void,
): Promise<void> {
  try {
    await trust.reload();
  } catch (err) {
    if (!(err instanceof ArozError)) throw err;
    log(`Cannot reload the trust store: ${err.message}`);
  }
}

/** The watcher as a service of the daemon's loop. */
export function trustWatcher(parts: {
  trust: TrustStore;
  /** ADDC/remote: the trusted keys' folder. */
  remoteDir: string;
  server: Pick<NodeServer, 'dropPeer'>;
  pool: Pick<PeerPool, 'drop'>;
  reload: () => Promise<void>;
  log: (line: string) => void;
}) {
  let watcher: FSWatcher | undefined;
  let timer: NodeJS.Timeout | undefined;
  const onRemoved = (peer: { nodeUuid: string }) => {
    parts.server.dropPeer(peer.nodeUuid);
    parts.pool.drop(peer.nodeUuid);
    parts.log(`No longer trusting node ${peer.nodeUuid}: its connections were closed.`);
  };
  return {
    name: 'trust watcher',
    start: () => {
      parts.trust.on('removed', onRemoved);
      watcher = watch(parts.remoteDir, () => void parts.reload());
      watcher.on('error', () => {});
      timer = setInterval(() => void parts.reload(), TRUST_RELOAD_MS);
      timer.unref();
    },
    stop: () => {
      clearInterval(timer);
      watcher?.close();
      parts.trust.off('removed', onRemoved);
    },
  };
}
