/**
 * Signing and verifying index files (docs/index-format.md "Canonical form and signing"): RSA-PSS with SHA-256 and a 32-byte salt over
 * `signingPayload(index)` ("arozdfs-index-v1\n" + RFC 8785 canonical JSON of the index without its
 * signature). The signature names the signer by key fingerprint. Verification accepts only keys the
 * caller trusts — this node's own keys (active and retired) and its pinned peers' keys — and refuses
 * unsigned, tampered and unknown-signer indexes with ERR_INDEX_UNTRUSTED.
 */
import { constants, sign, verify } from 'node:crypto';
import { ArozError } from '../errors.ts';
import { type IndexFile, SIGNATURE_ALG, signingPayload } from '../index-file/index.ts';
import type { KeyPair, PublicKeyInfo } from './rsa.ts';

const PSS = { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 } as const;

/** A public key an index may be signed with, and the node it belongs to. */
export interface SignerKey extends PublicKeyInfo {
  /** Node UUID owning the key. */
  readonly owner: string;
}

/** The keys to verify indexes with: this node's own (active and retired) and its peers' pinned keys. */
export function signerKeys(
  self: { nodeUuid: string; keys: readonly PublicKeyInfo[] },
  peers: readonly (PublicKeyInfo & { nodeUuid: string })[],
): SignerKey[] {
  return [
    ...self.keys.map((key) => ({ ...key, owner: self.nodeUuid })),
    ...peers.map((peer) => ({ ...peer, owner: peer.nodeUuid })),
  ];
}

/** Returns a copy of `index` signed with `keyPair` (any previous signature is replaced). */
export function signIndex(index: IndexFile, keyPair: KeyPair): IndexFile {
  const { signature: _previous, ...unsigned } = index;
  const value = sign('sha256', signingPayload(unsigned as IndexFile), { key: keyPair.privateKey, ...PSS });
  return {
    ...unsigned,
    signature: { alg: SIGNATURE_ALG, key: keyPair.fingerprint, value: value.toString('base64') },
  };
}

function untrusted(message: string): ArozError {
  return new ArozError('ERR_INDEX_UNTRUSTED', message);
}

/**
 * Checks the signature of `index` against `trusted` and returns the key that made it. When the index
 * names its uploader (`createdBy`), the key must belong to that node. Throws ERR_INDEX_UNTRUSTED.
 */
export function verifyIndex(index: IndexFile, trusted: readonly SignerKey[]): SignerKey {
  const id = JSON.stringify(String(index.id));
  const signature = index.signature;
  if (signature === undefined) throw untrusted(`Index ${id} is not signed`);
  if (signature.alg !== SIGNATURE_ALG) {
    throw untrusted(
      `Index ${id} is signed with ${JSON.stringify(String(signature.alg))}, not ${SIGNATURE_ALG}`,
    );
  }
  const signer = trusted.find((key) => key.fingerprint === signature.key);
  if (signer === undefined) {
    throw untrusted(
      `Index ${id} is signed by the key ${JSON.stringify(String(signature.key))}, which this node does not trust`,
    );
  }
  const value = Buffer.from(String(signature.value), 'base64');
  const ok =
    value.toString('base64') === signature.value &&
    verify('sha256', signingPayload(index), { key: signer.publicKey, ...PSS }, value);
  if (!ok) throw untrusted(`Index ${id} was changed after it was signed: its signature does not verify`);
  if (index.createdBy !== undefined && index.createdBy !== signer.owner) {
    throw untrusted(
      `Index ${id} says node "${index.createdBy}" made it, but it is signed by node "${signer.owner}"`,
    );
  }
  return signer;
}
