/**
 * What the node API's chunk requests move, as this node sees it: requests in flight (the scrub
 * pauses while any run) and chunk bytes served (GET bodies) and received (PUT bodies) per verified
 * peer since the daemon started — so tests and diagnostics can tell which node moved which bytes.
 */
export class ChunkTraffic {
  /** Chunk GET and PUT requests being handled now. */
  inFlight = 0;
  readonly served = new Map<string, number>();
  readonly received = new Map<string, number>();

  /** One chunk request starts; call the answer when it ends. */
  begin(): () => void {
    this.inFlight++;
    let ended = false;
    return () => {
      if (!ended) this.inFlight--;
      ended = true;
    };
  }

  /** Chunk bytes served over bulk connections (docs/protocol.md, "Bulk reads"), also in `served`. */
  servedOverBulk = 0;

  sent(peer: string, bytes: number, bulk = false): void {
    this.served.set(peer, (this.served.get(peer) ?? 0) + bytes);
    if (bulk) this.servedOverBulk += bytes;
  }

  got(peer: string, bytes: number): void {
    this.received.set(peer, (this.received.get(peer) ?? 0) + bytes);
  }

  /** Chunk bytes served to all peers. */
  get servedBytes(): number {
    return [...this.served.values()].reduce((a, b) => a + b, 0);
  }
}
