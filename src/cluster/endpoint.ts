/**
 * Endpoints: an IP address and a port that a node listens on. Hosts are IP literals in one canonical
 * form (so `127.1`, `::0:1` and `::1` cannot hide the same address twice in a book), never host names
 * (a name would make resolution depend on whatever DNS says), never the unspecified, broadcast or a
 * multicast address (nothing can be dialled there), never an IPv6 zone (it means nothing on another
 * machine).
 */
import { isIP } from 'node:net';

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** The canonical form of an IP literal (lower-case, compressed IPv6; dotted IPv4), or undefined. */
export function canonicalHost(host: string): string | undefined {
  const family = isIP(host);
  if (family === 0 || host.includes('%')) return undefined;
  try {
    const name = new URL(`http://${family === 6 ? `[${host}]` : host}/`).hostname;
    const bare = family === 6 ? name.slice(1, -1) : name;
    return isIP(bare) === family ? bare : undefined;
  } catch {
    return undefined;
  }
}

/** True for a canonical IP literal a node can be dialled at. */
export function isDialableHost(host: unknown): host is string {
  if (typeof host !== 'string' || canonicalHost(host) !== host) return false;
  if (isIP(host) === 4) {
    const first = Number(host.split('.', 1)[0]);
    return host !== '0.0.0.0' && host !== '255.255.255.255' && (first < 224 || first > 239);
  }
  return host !== '::' && !host.startsWith('ff');
}

export function isPort(port: unknown): port is number {
  return typeof port === 'number' && Number.isInteger(port) && port >= 1 && port <= 65535;
}

const HOST_NAME =
  /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/;

/** A DNS host name (letters, digits, hyphens, dots), which only an administrator's `--peer` may use. */
function isHostName(host: string): boolean {
  return HOST_NAME.test(host) && isIP(host) === 0 && !/^[0-9.]+$/.test(host);
}

/**
 * `{host, port}` with a canonical, dialable host and a port of 1–65535, or undefined. With
 * `allowNames`, a host name (lower-cased) is accepted too: only for addresses an administrator typed.
 */
export function toEndpoint(
  host: string,
  port: number,
  options: { allowNames?: boolean } = {},
): HostPort | undefined {
  if (!isPort(port)) return undefined;
  const canonical = canonicalHost(host);
  if (canonical !== undefined) return isDialableHost(canonical) ? { host: canonical, port } : undefined;
  const name = host.toLowerCase();
  return options.allowNames === true && isHostName(name) ? { host: name, port } : undefined;
}

/** `host:port`, IPv6 in brackets; also the key endpoints are compared by. */
export function endpointKey(endpoint: HostPort): string {
  return isIP(endpoint.host) === 6
    ? `[${endpoint.host}]:${endpoint.port}`
    : `${endpoint.host}:${endpoint.port}`;
}

/** True for an address that only reaches this machine (127.0.0.0/8, ::1). */
export function isLoopbackHost(host: string): boolean {
  return host === '::1' || (isIP(host) === 4 && host.startsWith('127.'));
}

/**
 * The address to dial out from, for a node listening on `listenHost`: a node bound to one IP dials
 * out from that IP (so peers see the address they can dial back); a wildcard listener lets the system
 * choose.
 */
export function localAddressFor(listenHost: string): string | undefined {
  const host = canonicalHost(listenHost);
  return host !== undefined && isDialableHost(host) ? host : undefined;
}
