/**
 * The cluster port (docs/protocol.md): the pinned mutual-TLS server on the listen address. Its
 * requests go to the handlers the daemon registers, asked in order: the first that takes a request
 * answers it. A node that dials it with a key this node does not trust is refused and becomes a
 * pairing hint (src/node/pairing-hints.ts): shown to people, never trusted.
 */
import type { TrustStore } from '../keys/trust-store.ts';
import { type Identity, NodeServer, type RequestHandler } from '../transport/server.ts';
import type { HostPort } from './host-port.ts';
import { PairingHints } from './pairing-hints.ts';

/** Answers a request and says true, or says false to leave it to the next handler. */
export type ClusterHandler = (request: Parameters<RequestHandler>[0]) => Promise<boolean>;

export class ClusterPort {
  readonly server: NodeServer;
  readonly hints: PairingHints;
  #handlers: ClusterHandler[] = [];

  constructor(parts: { identity: Identity; trust: TrustStore; listen: HostPort }) {
    const { identity, trust, listen } = parts;
    this.hints = new PairingHints({
      self: identity.nodeUuid,
      isKnown: (uuid) => trust.get(uuid) !== undefined,
    });
    this.server = new NodeServer({
      identity,
      pins: trust,
      host: listen.host,
      port: listen.port,
      onRefused: (socket) => this.hints.refused(socket),
      handler: async (request) => {
        for (const handle of this.#handlers) if (await handle(request)) return;
      },
    });
  }

  /** Adds handlers, asked after the ones added before. */
  use(...handlers: ClusterHandler[]): void {
    this.#handlers.push(...handlers);
  }

  /** The bound address (the port picked for port 0). */
  address(): HostPort {
    const { address, port } = this.server.address();
    return { host: address, port };
  }
}
