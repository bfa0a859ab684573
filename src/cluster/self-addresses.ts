/**
 * This node's own addresses: what it puts in its signed record and its mDNS A records, and a watcher
 * that notices when they change (DHCP renewed, Wi-Fi switched, cable moved), so the node can sign a
 * new record, re-announce and redial its peers. A node bound to one IP has exactly that address; a
 * wildcard listener (`0.0.0.0`, `::`) has every non-loopback address of the machine, or its loopback
 * address when it has no other.
 */
import { EventEmitter } from 'node:events';
import { type NetworkInterfaceInfo, networkInterfaces } from 'node:os';
import { RECORD_LIMITS } from './address-record.ts';
import { canonicalHost, endpointKey, type HostPort, isDialableHost, toEndpoint } from './endpoint.ts';

export type InterfaceList = NodeJS.Dict<NetworkInterfaceInfo[]>;

/** The addresses a node listening on `listen` can be dialled at, sorted, at most 16. */
export function advertisedAddresses(
  listen: HostPort,
  interfaces: InterfaceList = networkInterfaces(),
): HostPort[] {
  const host = canonicalHost(listen.host);
  if (host !== undefined && isDialableHost(host)) return [{ host, port: listen.port }];
  const wantV6 = host === '::';
  const external: HostPort[] = [];
  const internal: HostPort[] = [];
  for (const infos of Object.values(interfaces)) {
    for (const info of infos ?? []) {
      if (info.family === 'IPv6' && (!wantV6 || info.scopeid !== 0)) continue; // link-local needs a zone
      const endpoint = toEndpoint(info.address, listen.port);
      if (endpoint !== undefined) (info.internal ? internal : external).push(endpoint);
    }
  }
  const chosen = external.length > 0 ? external : internal;
  const unique = new Map(chosen.map((e) => [endpointKey(e), e]));
  return [...unique.values()]
    .sort((a, b) => (endpointKey(a) < endpointKey(b) ? -1 : endpointKey(a) > endpointKey(b) ? 1 : 0))
    .slice(0, RECORD_LIMITS.maxAddresses);
}

export interface AddressWatcherOptions {
  listen: HostPort;
  /** How often to look (default 10 s). */
  intervalMs?: number;
  /** Where interface addresses come from (default `os.networkInterfaces`). */
  interfaces?: () => InterfaceList;
}

/** Emits 'change' with the new addresses whenever this node's advertised addresses change. */
export class AddressWatcher extends EventEmitter<{ change: [HostPort[]] }> {
  #options: AddressWatcherOptions;
  #current: HostPort[];
  #timer: NodeJS.Timeout | undefined;

  constructor(options: AddressWatcherOptions) {
    super();
    this.#options = options;
    this.#current = this.#read();
  }

  current(): HostPort[] {
    return this.#current;
  }

  /** Starts looking every `intervalMs` until `close()` or `signal` aborts. */
  start(signal?: AbortSignal): void {
    if (this.#timer !== undefined || signal?.aborted) return;
    this.#timer = setInterval(() => this.check(), this.#options.intervalMs ?? 10_000).unref();
    signal?.addEventListener('abort', () => this.close(), { once: true });
  }

  /** Looks now; emits 'change' and returns true if the addresses differ from the last look. */
  check(): boolean {
    const next = this.#read();
    const same =
      next.length === this.#current.length &&
      next.every((e, i) => endpointKey(e) === endpointKey(this.#current[i]!));
    if (same) return false;
    this.#current = next;
    this.emit('change', next);
    return true;
  }

  close(): void {
    clearInterval(this.#timer);
  }

  #read(): HostPort[] {
    return advertisedAddresses(this.#options.listen, (this.#options.interfaces ?? networkInterfaces)());
  }
}
