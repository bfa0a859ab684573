/**
 * Keys: the node's RSA identity key pairs, fingerprints, pairing strings, the trust store of pinned
 * peer keys, the node's TLS certificate, and index signatures. RSA keys authenticate nodes; TLS
 * encrypts (docs/protocol.md, docs/pairing.md).
 *
 * It must never add trust on its own (only `TrustStore.add`, after a person confirmed), never accept a
 * key that is not RSA 3072–8192 bits with e = 65537, never read a key or trust file from a path that
 * someone else could have written, never build a path from anything but a canonical UUID, and never
 * print.
 */
export {
  makeNodeCertificate,
  type NodeCertificate,
  nodeUuidOfCertificate,
  spkiOfCertificate,
} from './certificate.ts';
export {
  CONFIRM_TAIL_LENGTH,
  FINGERPRINT_PREFIX,
  fingerprintOf,
  fingerprintTail,
  groupFingerprint,
} from './fingerprint.ts';
export { type SignerKey, signerKeys, signIndex, verifyIndex } from './index-signature.ts';
export { type LocalKeyInfo, LocalKeyStore } from './key-pairs.ts';
export { isCleanLabel, MAX_LABEL_LENGTH, sanitizeLabel } from './label.ts';
export {
  encodePairing,
  formatPairing,
  MAX_PAIRING_INPUT,
  PAIRING_TAG,
  type PairingData,
  type PastedPeer,
  parsePastedPeer,
  pastedText,
} from './pairing.ts';
export { pemOf, spkiDerFromPem } from './pem.ts';
export {
  DEFAULT_RSA_BITS,
  describePublicKey,
  GENERATE_RSA_BITS,
  generateKeyPair,
  INIT_RSA_BITS,
  type KeyPair,
  keyPairFromPrivatePem,
  MAX_RSA_BITS,
  MIN_RSA_BITS,
  type PublicKeyInfo,
  privateKeyPem,
  publicKeyFromSpki,
  publicKeyPem,
} from './rsa.ts';
export { assertSecureChain, assertSecureDir, assertSecureFile, readSecureFile } from './secure-fs.ts';
export { type PinnedPeer, type TrustChanges, TrustStore, type TrustStoreOptions } from './trust-store.ts';
