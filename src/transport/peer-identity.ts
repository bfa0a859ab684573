/**
 * The pin check, shared by server and client: who is on the other end of a TLS socket, and is that
 * exactly the key a person pinned for that node UUID? Runs synchronously, before any request byte is
 * read or sent. Nothing here trusts certificate contents beyond naming a UUID: the SPKI must equal the
 * pinned key, and the TLS handshake has proved the peer holds its private key.
 */
import type { TLSSocket } from 'node:tls';
import { isUuid } from '../uuid.ts';

/** Where pinned keys come from (the trust store, plus this node's own key for loopback calls). */
export interface PinSource {
  /** True when `spkiDer` is the key pinned for node `uuid`. Must be synchronous. */
  isPinned(uuid: string, spkiDer: Buffer): boolean;
}

export const MIN_RSA_BITS = 3072;
export const MAX_RSA_BITS = 8192;

export type PeerCheck = { ok: true; uuid: string; spki: Buffer } | { ok: false; reason: string };

// A symbol property, not a WeakMap: HTTP/2 sessions expose their socket through a Proxy, which
// forwards property reads to the socket but has another identity.
const kVerifiedPeer = Symbol('arozdfs.verifiedPeer');
type Marked = { [kVerifiedPeer]?: string };

/** The node UUID a socket was verified as, or undefined if it never passed `checkPeer`. */
export function verifiedPeerOf(socket: object): string | undefined {
  return (socket as Marked)[kVerifiedPeer];
}

/**
 * Checks a freshly handshaken socket: TLS 1.3, ALPN h2 (or, with `bulk`, also no ALPN: a bulk-read
 * connection, docs/protocol.md), exactly one self-issued RSA certificate of 3072–8192 bits and
 * e = 65537 naming one canonical node UUID (CN and SAN URI agree), whose SPKI is the pinned key for
 * that UUID — and, when dialling, the UUID we meant to reach.
 */
export function checkPeer(
  socket: TLSSocket,
  pins: PinSource,
  expectedUuid?: string,
  options: { bulk?: boolean } = {},
): PeerCheck {
  const check = inspect(socket, pins, expectedUuid, options.bulk === true);
  if (check.ok) (socket as Marked)[kVerifiedPeer] = check.uuid;
  return check;
}

/**
 * The node a refused socket presented, checked like a peer (TLS 1.3, one self-issued RSA node
 * certificate naming one UUID) except for the pin, and never marked verified: for pairing hints only
 * (a node that dialled this one, so pins this node's UUID, but whose key this node does not trust).
 */
export function presentedNode(socket: TLSSocket): { uuid: string; spki: Buffer } | undefined {
  const check = inspect(socket, { isPinned: () => true }, undefined, false);
  return check.ok ? { uuid: check.uuid, spki: check.spki } : undefined;
}

function inspect(
  socket: TLSSocket,
  pins: PinSource,
  expectedUuid: string | undefined,
  bulk: boolean,
): PeerCheck {
  if (socket.getProtocol() !== 'TLSv1.3')
    return { ok: false, reason: `protocol ${socket.getProtocol()} is not TLSv1.3` };
  if (socket.alpnProtocol !== 'h2' && !(bulk && socket.alpnProtocol === false)) {
    return { ok: false, reason: 'ALPN h2 was not negotiated' };
  }
  const cert = socket.getPeerX509Certificate();
  if (cert === undefined) return { ok: false, reason: 'no certificate was presented' };
  const chain = socket.getPeerCertificate(true);
  if (
    chain.issuerCertificate !== undefined &&
    chain.issuerCertificate.fingerprint256 !== chain.fingerprint256
  ) {
    return {
      ok: false,
      reason: 'a certificate chain was presented; only a self-issued node certificate is accepted',
    };
  }
  if (!cert.checkIssued(cert)) return { ok: false, reason: 'the certificate is not self-issued' };
  const key = cert.publicKey;
  const details = key.asymmetricKeyDetails;
  if (key.asymmetricKeyType !== 'rsa')
    return { ok: false, reason: `key type ${key.asymmetricKeyType} is not RSA` };
  const bits = details?.modulusLength ?? 0;
  if (bits < MIN_RSA_BITS || bits > MAX_RSA_BITS) return { ok: false, reason: `RSA key of ${bits} bits` };
  if (details?.publicExponent !== 65537n) return { ok: false, reason: 'RSA exponent is not 65537' };
  const uuid = uuidOf(cert.subject, cert.subjectAltName);
  if (uuid === undefined) return { ok: false, reason: 'the certificate does not name exactly one node UUID' };
  if (expectedUuid !== undefined && uuid !== expectedUuid) {
    return { ok: false, reason: `the peer is node "${uuid}", not "${expectedUuid}"` };
  }
  const spki = key.export({ type: 'spki', format: 'der' });
  if (!pins.isPinned(uuid, spki))
    return { ok: false, reason: `the key of node "${uuid}" is not the pinned one` };
  return { ok: true, uuid, spki };
}

/** The UUID named by both CN and the only SAN URI `urn:uuid:<uuid>`, if they agree. */
function uuidOf(subject: string, san: string | undefined): string | undefined {
  const cn = /^CN=([^\n]*)$/m.exec(subject)?.[1];
  const uris = (san ?? '').split(', ').filter((s) => s.startsWith('URI:'));
  if (uris.length !== 1 || cn === undefined) return undefined;
  const fromSan = uris[0]?.slice('URI:urn:uuid:'.length);
  if (!uris[0]?.startsWith('URI:urn:uuid:') || fromSan !== cn || !isUuid(cn)) return undefined;
  return cn;
}
