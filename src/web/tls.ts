/**
 * The web UI's own HTTPS key and certificate (docs/web.md, docs/config.md): an ECDSA P-256 key made
 * once and a self-signed certificate for it, kept together in `ADDC/web-tls.pem` (0600). Never the
 * node's identity key, so a browser is never shown the key peers pin, and switching the identity key
 * (`keys activate`) leaves the web certificate, and the exception a browser keeps for it, alone. The
 * certificate is valid for 825 days (the longest some browsers accept); a start within 30 days of
 * its end makes a new key and certificate. The certificate names `localhost` and the addresses the web
 * UI serves (subjectAltName), so a client given the certificate (a Prometheus scraper) can verify
 * it; one lacking a name is made again for the same key. This module must never touch the node's key pairs.
 */
import { createPrivateKey, generateKeyPair, type KeyObject, X509Certificate } from 'node:crypto';
import { isIP, isIPv6 } from 'node:net';
import { networkInterfaces } from 'node:os';
import { promisify } from 'node:util';
import { writeFileAtomic } from '../durable/index.ts';
import { ArozError, isArozError } from '../errors.ts';
import { addcPaths, FILE_MODE } from '../home/paths.ts';
import { makeWebCertificate } from '../keys/certificate.ts';
import { readSecureFile } from '../keys/secure-fs.ts';

export const WEB_TLS_FILE = 'web-tls.pem';
const VALID_DAYS = 825;
const RENEW_DAYS = 30;
const DAY_MS = 24 * 60 * 60 * 1000;
const MAX_BYTES = 16 * 1024;
const BLOCK = /-----BEGIN ([A-Z ]+)-----\r?\n[A-Za-z0-9+/=\r\n]+-----END \1-----\r?\n?/g;

/**
 * TLS settings of the web UI: TLS 1.3, or TLS 1.2 with ECDHE key exchange and an AEAD cipher (the key
 * is ECDSA, so only ECDSA-authenticated suites are listed); no static-RSA, CBC or SHA-1 suites.
 */
export const WEB_TLS_SETTINGS = {
  minVersion: 'TLSv1.2',
  ciphers: [
    'TLS_AES_128_GCM_SHA256',
    'TLS_AES_256_GCM_SHA384',
    'TLS_CHACHA20_POLY1305_SHA256',
    'ECDHE-ECDSA-AES128-GCM-SHA256',
    'ECDHE-ECDSA-AES256-GCM-SHA384',
    'ECDHE-ECDSA-CHACHA20-POLY1305',
  ].join(':'),
  honorCipherOrder: true,
} as const;

export interface WebTls {
  certPem: string;
  keyPem: string;
}

function invalid(path: string, why: string, cause?: unknown): ArozError {
  return new ArozError(
    'ERR_HOME_INVALID',
    `"${path}" is not the web UI's key and certificate (${why}): delete it and start the node again to make a new one`,
    cause === undefined ? undefined : { cause },
  );
}

function parse(path: string, text: string): WebTls & { certificate: X509Certificate; key: KeyObject } {
  const blocks = [...text.matchAll(BLOCK)];
  const keyPem = blocks.filter((b) => b[1] === 'PRIVATE KEY').map((b) => b[0]);
  const certPem = blocks.filter((b) => b[1] === 'CERTIFICATE').map((b) => b[0]);
  if (keyPem.length !== 1 || certPem.length !== 1 || blocks.length !== 2) {
    throw invalid(path, 'it must hold one PRIVATE KEY and one CERTIFICATE block');
  }
  let key: KeyObject;
  let certificate: X509Certificate;
  try {
    key = createPrivateKey(keyPem[0] ?? '');
    certificate = new X509Certificate(certPem[0] ?? '');
  } catch (err) {
    throw invalid(path, 'a block cannot be read', err);
  }
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw invalid(path, 'the key is not an ECDSA P-256 key');
  }
  if (!certificate.checkPrivateKey(key)) throw invalid(path, 'the certificate is not for that key');
  return { keyPem: keyPem[0] ?? '', certPem: certPem[0] ?? '', certificate, key };
}

/** The names the certificate is for: `localhost`, and the IP addresses the web UI is reached at. */
export interface WebNames {
  dnsNames: string[];
  ips: string[];
}

/**
 * What a certificate for a web UI listening on `host` names: `localhost` and the loopback
 * addresses, and the listen address, or every address of this machine's interfaces for a wildcard
 * (`0.0.0.0`, `::`). Link-local IPv6 addresses (which need a zone) are left out.
 */
export function webNames(host: string | undefined): WebNames {
  const ips = new Set(['127.0.0.1', '::1']);
  const bare = host?.replace(/^\[|\]$/g, '');
  if (bare === '0.0.0.0' || bare === '::' || bare === '') {
    for (const list of Object.values(networkInterfaces())) {
      for (const a of list ?? []) {
        if (a.family === 'IPv6' && a.address.toLowerCase().startsWith('fe80:')) continue;
        if (bare === '0.0.0.0' && a.family !== 'IPv4') continue;
        ips.add(a.address);
      }
    }
  } else if (bare !== undefined && isIP(bare) !== 0) ips.add(bare);
  const dnsNames = ['localhost'];
  if (bare !== undefined && isIP(bare) === 0 && bare !== '' && bare !== 'localhost') dnsNames.push(bare);
  return { dnsNames, ips: [...ips] };
}

/** `subjectAltName` as node:crypto shows it, e.g. `DNS:localhost, IP Address:127.0.0.1`. */
function sanEntries(certificate: X509Certificate): Set<string> {
  return new Set((certificate.subjectAltName ?? '').split(', ').filter((e) => e !== ''));
}

/** Whether the certificate names every one of `names` (an IPv6 address as node:crypto prints it). */
function namesAll(certificate: X509Certificate, names: WebNames): boolean {
  const have = sanEntries(certificate);
  const printed = (ip: string) => (isIPv6(ip) ? ipv6Printed(ip) : ip);
  return (
    names.dnsNames.every((n) => have.has(`DNS:${n}`)) &&
    names.ips.every((ip) => have.has(`IP Address:${printed(ip)}`))
  );
}

/** An IPv6 address as OpenSSL prints it in a SAN: eight groups in upper case, no "::". */
function ipv6Printed(ip: string): string {
  const [head = '', tail] = ip.split('::');
  const groups = (p: string) => (p === '' ? [] : p.split(':'));
  const h = groups(head);
  const t = tail === undefined ? [] : groups(tail);
  return [...h, ...new Array<string>(8 - h.length - t.length).fill('0'), ...t]
    .map((g) => Number.parseInt(g, 16).toString(16).toUpperCase())
    .join(':');
}

async function create(
  path: string,
  nodeUuid: string,
  now: Date,
  replace: boolean,
  names: WebNames,
  key?: KeyObject,
): Promise<WebTls> {
  const privateKey = key ?? (await promisify(generateKeyPair)('ec', { namedCurve: 'prime256v1' })).privateKey;
  const keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const certPem = makeWebCertificate(nodeUuid, privateKey, { now, days: VALID_DAYS, ...names });
  await writeFileAtomic(path, keyPem + certPem, { mode: FILE_MODE, overwrite: replace });
  return { keyPem, certPem };
}

/**
 * The web UI's key and certificate from `<addc>/web-tls.pem`, made the first time (and again when
 * the certificate ends within 30 days). A damaged file is ERR_HOME_INVALID naming it.
 */
export async function openWebTls(
  addc: string,
  nodeUuid: string,
  options: { now?: Date; host?: string } = {},
): Promise<WebTls> {
  const path = addcPaths(addc).webTls;
  const now = options.now ?? new Date();
  const names = webNames(options.host);
  let text: string;
  try {
    text = (
      await readSecureFile(path, { maxBytes: MAX_BYTES, secret: true, tooLarge: 'ERR_HOME_INVALID' })
    ).toString('utf8');
  } catch (err) {
    if (!isArozError(err, 'ERR_FILE_NOT_FOUND')) throw err;
    try {
      return await create(path, nodeUuid, now, false, names);
    } catch (raced) {
      if (!isArozError(raced, 'ERR_OUTPUT_EXISTS')) throw raced;
      return openWebTls(addc, nodeUuid, options); // another process made it first
    }
  }
  const found = parse(path, text);
  if (found.certificate.validToDate.getTime() - now.getTime() < RENEW_DAYS * DAY_MS) {
    return create(path, nodeUuid, now, true, names);
  }
  // A certificate without every name it is reached at (made by an older version, or the machine's
  // addresses changed) is made again for the same key, valid from now.
  if (!namesAll(found.certificate, names)) return create(path, nodeUuid, now, true, names, found.key);
  return { keyPem: found.keyPem, certPem: found.certPem };
}
