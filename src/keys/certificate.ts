/**
 * The node's TLS certificate: self-signed X.509 v3 made from its active RSA key, with the node UUID
 * as CN and as SAN URI `urn:uuid:<uuid>`, signed with SHA-256, usable for server and client auth.
 * Peers never trust the certificate itself — they pin the key inside it (docs/protocol.md "Identity on the wire") — so the
 * validity dates are wide: from now to 9999-12-31 (RFC 5280's "no expiry" value). There is no
 * keyUsage extension: with one, OpenSSL no longer sees the certificate as self-issued (it would need
 * keyCertSign), and the transport's pin check requires a self-issued certificate.
 *
 * Also the web UI's HTTPS certificate, made for its own ECDSA P-256 key (src/web/tls.ts).
 *
 * Built with the small DER writer in der.ts and node:crypto rather than @peculiar/x509: that library
 * needs a global `reflect-metadata` polyfill (it patches the global Reflect object) and twenty
 * packages, for a certificate whose shape here never changes. Parsing stays with node:crypto.
 */
import { createPublicKey, type KeyObject, randomBytes, sign, X509Certificate } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import { ArozError } from '../errors.ts';
import { assertUuid, isUuid } from '../uuid.ts';
import * as der from './der.ts';
import { pemOf } from './pem.ts';
import { type KeyPair, privateKeyPem } from './rsa.ts';

const OID = {
  sha256WithRSA: '1.2.840.113549.1.1.11',
  ecdsaWithSHA256: '1.2.840.10045.4.3.2',
  commonName: '2.5.4.3',
  basicConstraints: '2.5.29.19',
  extKeyUsage: '2.5.29.37',
  subjectAltName: '2.5.29.17',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
} as const;

const NO_EXPIRY = new Date('9999-12-31T23:59:59Z');
const DAY_MS = 24 * 60 * 60 * 1000;

function extension(oid: string, critical: boolean, value: Uint8Array): Buffer {
  return der.sequence(
    der.objectIdentifier(oid),
    ...(critical ? [der.boolean(true)] : []),
    der.octetString(value),
  );
}

export interface NodeCertificate {
  /** The certificate, PEM. */
  certPem: string;
  /** The private key, PKCS#8 PEM (the same key as the node's active key pair). */
  keyPem: string;
}

interface SelfSigned {
  /** Subject and issuer CN. */
  commonName: string;
  spkiDer: Uint8Array;
  privateKey: KeyObject;
  /** RSA keys sign with sha256WithRSAEncryption, EC keys with ecdsa-with-SHA256. */
  keyType: 'rsa' | 'ec';
  extensions: Buffer[];
  notBefore: Date;
  notAfter: Date;
}

/** A self-signed X.509 v3 certificate, PEM. */
function selfSigned(parts: SelfSigned): string {
  const signatureAlgorithm =
    parts.keyType === 'rsa'
      ? der.sequence(der.objectIdentifier(OID.sha256WithRSA), der.nullValue())
      : der.sequence(der.objectIdentifier(OID.ecdsaWithSHA256)); // parameters absent (RFC 5758)
  const name = der.sequence(
    der.set(der.sequence(der.objectIdentifier(OID.commonName), der.utf8String(parts.commonName))),
  );
  const serial = randomBytes(16);
  serial[0] = ((serial[0] ?? 0) & 0x7f) | 0x10; // positive, 16 bytes
  const tbs = der.sequence(
    der.explicit(0, der.smallInteger(2)), // v3
    der.unsignedInteger(serial),
    signatureAlgorithm,
    name,
    der.sequence(der.time(parts.notBefore), der.time(parts.notAfter)),
    name,
    parts.spkiDer,
    der.explicit(3, der.sequence(...parts.extensions)),
  );
  // node:crypto signs ECDSA as a DER Ecdsa-Sig-Value, which is what X.509 carries.
  const signature = sign('sha256', tbs, parts.privateKey);
  return pemOf(der.sequence(tbs, signatureAlgorithm, der.bitString(signature)), 'CERTIFICATE');
}

/** Makes the node's self-signed certificate from `keyPair` (`now` sets notBefore; default: now). */
export async function makeNodeCertificate(
  nodeUuid: string,
  keyPair: KeyPair,
  options: { now?: Date } = {},
): Promise<NodeCertificate> {
  assertUuid(nodeUuid, 'Node UUID');
  const certPem = selfSigned({
    commonName: nodeUuid,
    spkiDer: keyPair.spkiDer,
    privateKey: keyPair.privateKey,
    keyType: 'rsa',
    extensions: [
      extension(OID.basicConstraints, true, der.sequence()),
      extension(
        OID.extKeyUsage,
        false,
        der.sequence(der.objectIdentifier(OID.serverAuth), der.objectIdentifier(OID.clientAuth)),
      ),
      extension(
        OID.subjectAltName,
        false,
        der.sequence(der.implicitPrimitive(6, Buffer.from(`urn:uuid:${nodeUuid}`, 'ascii'))),
      ),
    ],
    notBefore: options.now ?? new Date(),
    notAfter: NO_EXPIRY,
  });
  return { certPem, keyPem: privateKeyPem(keyPair) };
}

/**
 * The web UI's self-signed HTTPS certificate for an ECDSA P-256 key (never the node's identity key):
 * CN `arozdfs web UI <node uuid>`, serverAuth only, valid from a day before `now` (a browser whose
 * clock is behind still accepts it) for `days` days.
 */
export function makeWebCertificate(
  nodeUuid: string,
  privateKey: KeyObject,
  options: { now?: Date; days: number; dnsNames?: readonly string[]; ips?: readonly string[] },
): string {
  assertUuid(nodeUuid, 'Node UUID');
  // subjectAltName (RFC 5280 §4.2.1.6): dNSName [2] IA5String, iPAddress [7] 4 or 16 bytes.
  const names = [
    ...(options.dnsNames ?? []).map((n) => der.implicitPrimitive(2, Buffer.from(n, 'ascii'))),
    ...(options.ips ?? []).map((ip) => der.implicitPrimitive(7, ipBytes(ip))),
  ];
  if (privateKey.asymmetricKeyType !== 'ec') {
    throw new TypeError(`makeWebCertificate: an EC key is needed, not ${privateKey.asymmetricKeyType}`);
  }
  const now = options.now ?? new Date();
  const notBefore = new Date(now.getTime() - DAY_MS);
  return selfSigned({
    commonName: `arozdfs web UI ${nodeUuid}`,
    spkiDer: createPublicKey(privateKey).export({ type: 'spki', format: 'der' }),
    privateKey,
    keyType: 'ec',
    extensions: [
      extension(OID.basicConstraints, true, der.sequence()),
      extension(OID.extKeyUsage, false, der.sequence(der.objectIdentifier(OID.serverAuth))),
      ...(names.length > 0 ? [extension(OID.subjectAltName, false, der.sequence(...names))] : []),
    ],
    notBefore,
    notAfter: new Date(notBefore.getTime() + options.days * DAY_MS),
  });
}

/** An IPv4 or IPv6 address literal as its 4 or 16 bytes. */
function ipBytes(ip: string): Buffer {
  if (isIPv4(ip)) return Buffer.from(ip.split('.').map(Number));
  if (!isIPv6(ip)) throw new TypeError(`makeWebCertificate: "${ip}" is not an IP address`);
  // 16-bit words of one side of "::" (an IPv4 tail is two words).
  const words = (part: string): number[] =>
    part === ''
      ? []
      : part.split(':').flatMap((g) => {
          if (!g.includes('.')) return [Number.parseInt(g, 16)];
          const b = Buffer.from(g.split('.').map(Number));
          return [b.readUInt16BE(0), b.readUInt16BE(2)];
        });
  const [head = '', tail] = ip.split('::');
  const h = words(head);
  const t = tail === undefined ? [] : words(tail);
  const all = [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
  const out = Buffer.alloc(16);
  all.forEach((w, i) => {
    out.writeUInt16BE(w, i * 2);
  });
  return out;
}

function parse(cert: Uint8Array | string | X509Certificate): X509Certificate {
  if (cert instanceof X509Certificate) return cert;
  try {
    return new X509Certificate(typeof cert === 'string' ? cert : Buffer.from(cert));
  } catch (err) {
    throw new ArozError('ERR_KEY_INVALID', 'The peer certificate is not a readable X.509 certificate', {
      cause: err,
    });
  }
}

/** The SPKI DER of the key inside a certificate (DER, PEM or parsed), to compare with a pinned key. */
export function spkiOfCertificate(cert: Uint8Array | string | X509Certificate): Buffer {
  return parse(cert).publicKey.export({ type: 'spki', format: 'der' });
}

/**
 * The node UUID a certificate claims: its CN, which must equal its SAN URI `urn:uuid:<uuid>` and be
 * canonical. Throws ERR_KEY_INVALID otherwise. (A claim only: the pinned key decides.)
 */
export function nodeUuidOfCertificate(cert: Uint8Array | string | X509Certificate): string {
  const x509 = parse(cert);
  const cn = /^CN=([^\n]*)$/.exec(x509.subject)?.[1];
  const san = x509.subjectAltName;
  if (!isUuid(cn) || san !== `URI:urn:uuid:${cn}`) {
    throw new ArozError(
      'ERR_KEY_INVALID',
      `The peer certificate does not name one node (subject ${JSON.stringify(x509.subject.slice(0, 80))}, SAN ${JSON.stringify((san ?? '').slice(0, 80))})`,
    );
  }
  return cn;
}
