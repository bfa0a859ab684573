/**
 * Where the daemon dials a peer: the address book's candidates first (live records, heartbeats,
 * discovery), then the peer's static address: node.json's `peerAddresses` (set on the web UI), then
 * `--peer`, which wins for the same node. A static address also goes to the cluster services, which
 * learn the peer's own records through it. A dial's outcome marks the address in the book.
 */
import type { AddressBook } from '../cluster/address-book.ts';
import type { ArozError } from '../errors.ts';
import type { NodeConfig } from '../home/node-config.ts';
import type { PeerAddress, PeerPoolOptions } from '../transport/pool.ts';
import { isUuid } from '../uuid.ts';
import { type HostPort, parseHostPort } from './host-port.ts';

export class PeerAddresses {
  /** Static addresses by node UUID. */
  readonly staticPeers = new Map<string, PeerAddress>();
  #book: AddressBook;
  #addStatic: (nodeUuid: string, address: PeerAddress) => void;

  /** `addStatic` hands a static address to the cluster services. */
  constructor(book: AddressBook, addStatic: (nodeUuid: string, address: PeerAddress) => void) {
    this.#book = book;
    this.#addStatic = addStatic;
  }

  /** The peer pool's dialling options: these addresses, and from the listen host unless a wildcard. */
  dialing(listen: HostPort): Pick<PeerPoolOptions, 'addressesOf' | 'onDial' | 'localAddress'> {
    return {
      addressesOf: (uuid) => this.dialOrder(uuid),
      onDial: (uuid, address, error) => this.dialed(uuid, address, error),
      ...(listen.host !== '0.0.0.0' && listen.host !== '::' ? { localAddress: listen.host } : {}),
    };
  }

  /** Where to dial a node, best first: the address book's candidates, then its static address. */
  dialOrder(nodeUuid: string): PeerAddress[] {
    const found = this.#book.endpoints(nodeUuid, { dueOnly: true });
    const fixed = this.staticPeers.get(nodeUuid);
    if (fixed !== undefined && !found.some((a) => a.host === fixed.host && a.port === fixed.port))
      found.push(fixed);
    return found;
  }

  /** A dial's outcome: the book verifies the address, or counts a failure against it. */
  dialed(nodeUuid: string, address: PeerAddress, error: ArozError | undefined): void {
    if (error === undefined) this.#book.markSuccess(nodeUuid, address);
    else this.#book.markFailure(nodeUuid, address);
  }

  /** Sets a node's static address, or removes it (null). */
  set(nodeUuid: string, address: PeerAddress | null): void {
    if (address === null) this.staticPeers.delete(nodeUuid);
    else {
      this.staticPeers.set(nodeUuid, address);
      this.#addStatic(nodeUuid, address);
    }
  }

  /** The addresses a start knows: node.json's, then `--peer`'s (the later wins for one node). */
  load(config: Pick<NodeConfig, 'peerAddresses'>, peers: Array<{ uuid: string } & PeerAddress>): void {
    for (const [uuid, address] of Object.entries(config.peerAddresses ?? {})) {
      if (isUuid(uuid)) this.set(uuid, parseHostPort(address, `The address of peer ${uuid}`));
    }
    for (const peer of peers) this.set(peer.uuid, { host: peer.host, port: peer.port });
  }
}
