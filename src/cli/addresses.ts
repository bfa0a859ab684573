/**
 * The address options of `serve` and `start` (`--listen`, `--web`, `--peer`, `--mdns-interface`),
 * checked before anything is opened, so a typo is a usage error (exit 2) whether or not a home exists.
 */
import { isIP } from 'node:net';
import { ArozError } from '../errors.ts';
import { parseHostPort, parsePeerAddress } from '../node/host-port.ts';

export interface AddressOptions {
  listen?: string;
  web?: string;
  peer?: string[];
  mdnsInterface?: string;
}

/** ERR_USAGE (or ERR_INVALID_UUID for a peer's UUID) naming the first bad address option. */
export function checkAddressOptions(options: AddressOptions): void {
  if (options.listen !== undefined) parseHostPort(options.listen, 'The listen address');
  if (options.web !== undefined && options.web !== 'off') parseHostPort(options.web, 'The web UI address');
  for (const peer of options.peer ?? []) parsePeerAddress(peer);
  const mdns = options.mdnsInterface;
  if (mdns !== undefined && isIP(mdns) === 0) {
    throw new ArozError(
      'ERR_USAGE',
      `The mDNS interface "${mdns}" is not an IP address (e.g. 127.0.0.1 or 192.168.1.20)`,
    );
  }
}
