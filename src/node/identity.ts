/**
 * The node's identity on the cluster port: a certificate of its active key. A switch to another key
 * gives the server and the peer pool a new certificate: live connections close, new ones use it, and
 * every peer must pair again. The web UI keeps its own certificate (ADDC/web-tls.pem).
 */
import type { AuditSource } from '../home/audit.ts';
import type { NodeHome } from '../home/open.ts';
import { makeNodeCertificate } from '../keys/certificate.ts';
import type { KeyPair } from '../keys/rsa.ts';
import type { PeerPool } from '../transport/pool.ts';
import type { Identity, NodeServer } from '../transport/server.ts';

/** Switches the identity key; answers the new pair and the key that was active before. */
export type ActivateKey = (
  keyUuid: string,
  from: AuditSource,
) => Promise<{ pair: KeyPair; previous: string }>;

export async function nodeIdentity(home: NodeHome, pair: KeyPair): Promise<Identity> {
  const { certPem, keyPem } = await makeNodeCertificate(home.config.nodeUuid, pair);
  return { nodeUuid: home.config.nodeUuid, certPem, keyPem };
}

export function keySwitch(parts: {
  home: NodeHome;
  server: Pick<NodeServer, 'setIdentity'>;
  pool: Pick<PeerPool, 'setIdentity'>;
  log: (line: string) => void;
}): ActivateKey {
  const { home, server, pool } = parts;
  return async (keyUuid, from) => {
    const result = await home.activateKey(keyUuid, from);
    if (result.previous !== keyUuid) {
      const next = await nodeIdentity(home, result.pair);
      server.setIdentity(next);
      pool.setIdentity(next);
      // The web UI keeps its own certificate (ADDC/web-tls.pem): browsers need not accept a new one.
      parts.log(`Switched the identity key to ${keyUuid}: every peer must pair again.`);
    }
    return result;
  };
}
