/** `host:port` and `uuid@host:port` as the CLI and node.json write them. */
import { isIP } from 'node:net';
import { ArozError } from '../errors.ts';
import { assertUuid } from '../uuid.ts';

export interface HostPort {
  host: string;
  port: number;
}

/** Parses `host:port` (IPv6 as `[::1]:7420`); port 0 lets the system pick one. */
export function parseHostPort(text: string, what: string): HostPort {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s[\]]+)):(\d{1,5})$/.exec(text);
  const host = m?.[1] ?? m?.[2];
  const port = Number(m?.[3]);
  if (m === null || host === undefined || (m[1] !== undefined && isIP(host) !== 6)) {
    throw new ArozError('ERR_USAGE', `${what} "${text}" is not host:port (e.g. 0.0.0.0:7420 or [::1]:7420)`);
  }
  if (port > 65535) {
    throw new ArozError('ERR_USAGE', `${what} "${text}": port ${port} is out of range (0 to 65535)`);
  }
  return { host, port };
}

/** Parses `--peer UUID@host:port`. */
export function parsePeerAddress(text: string): HostPort & { uuid: string } {
  const at = text.indexOf('@');
  if (at < 0) throw new ArozError('ERR_USAGE', `The peer "${text}" is not UUID@host:port`);
  const uuid = assertUuid(text.slice(0, at), 'The peer UUID');
  return { uuid, ...parseHostPort(text.slice(at + 1), `The address of peer ${uuid}`) };
}

export function formatHostPort(address: HostPort): string {
  return isIP(address.host) === 6 ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}
