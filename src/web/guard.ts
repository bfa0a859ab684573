/**
 * The checks every web request passes before it is read (docs/web.md "Security"): the Host header
 * names this server (DNS rebinding), a state-changing request comes from this server's own origin,
 * and every answer carries the security headers.
 */
import { isIP } from 'node:net';
import { hostname } from 'node:os';

export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "form-action 'self'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
  ].join('; '),
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'));
}

/** Splits a Host header into host and port (IPv6 in brackets); undefined when malformed. */
function parseHostHeader(value: string): { host: string; port: number | undefined } | undefined {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]+))(?::(\d{1,5}))?$/.exec(value);
  if (m === null) return undefined;
  const host = (m[1] ?? m[2] ?? '').toLowerCase().replace(/\.$/, '');
  if (m[1] !== undefined && isIP(host) !== 6) return undefined;
  return { host, port: m[3] === undefined ? undefined : Number(m[3]) };
}

export interface HostPolicy {
  /** The address the UI is bound to. */
  bound: string;
  port: number;
  tls: boolean;
  /** This machine's host name (default: os.hostname()). */
  machine?: string;
}

/**
 * Whether a Host header names this server. Always: loopback names. On a non-loopback bind: also any
 * IP literal (an attacker's DNS name can never be one) and this machine's own name (`name`,
 * `name.local`). The port must be the server's (a missing port means the scheme's default).
 */
export function hostAllowed(header: string | undefined, policy: HostPolicy): boolean {
  if (header === undefined) return false;
  const parsed = parseHostHeader(header);
  if (parsed === undefined) return false;
  const port = parsed.port ?? (policy.tls ? 443 : 80);
  if (port !== policy.port) return false;
  if (isLoopback(parsed.host)) return true;
  if (isLoopback(policy.bound)) return false;
  if (isIP(parsed.host) !== 0) return true;
  const machine = (policy.machine ?? hostname()).toLowerCase();
  return machine !== '' && (parsed.host === machine || parsed.host === `${machine}.local`);
}

/** A request's own origin, from its (already allowed) Host header. */
export function ownOrigin(host: string, tls: boolean): string {
  return `${tls ? 'https' : 'http'}://${host.toLowerCase()}`;
}

/** Methods that change nothing (no CSRF token or Origin needed). */
export function isSafeMethod(method: string | undefined): boolean {
  return method === 'GET' || method === 'HEAD';
}

/**
 * Origin rules: a browser marks a cross-site request (`Sec-Fetch-Site: cross-site`): refused on any
 * method; a state-changing request must carry `Origin` equal to this server's own origin.
 */
export function originAllowed(
  method: string | undefined,
  headers: { origin?: string | undefined; 'sec-fetch-site'?: string | string[] | undefined },
  own: string,
): boolean {
  if (headers['sec-fetch-site'] === 'cross-site') return false;
  if (isSafeMethod(method)) return headers.origin === undefined || headers.origin === own;
  return headers.origin === own;
}
