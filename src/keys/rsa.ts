/**
 * RSA identity keys: the sizes and exponent arozdfs accepts, generation, and the checked in-memory
 * forms (`PublicKeyInfo`, `KeyPair`) that the rest of the code passes around. A key that is not RSA,
 * is smaller than 3072 or larger than 8192 bits, or whose exponent is not 65537 never gets past here.
 */
import { createPrivateKey, createPublicKey, generateKeyPair as generate, type KeyObject } from 'node:crypto';
import { ArozError } from '../errors.ts';
import { newUuid } from '../uuid.ts';
import { fingerprintOf } from './fingerprint.ts';
import { pemOf } from './pem.ts';

export const MIN_RSA_BITS = 3072;
export const MAX_RSA_BITS = 8192;
export const DEFAULT_RSA_BITS = 3072;
/** Sizes `init` offers. */
export const INIT_RSA_BITS = [3072, 4096] as const;
/** Sizes `keys generate` offers (6144 and 8192 are slow to make and to use in every handshake). */
export const GENERATE_RSA_BITS = [3072, 4096, 6144, 8192] as const;
const RSA_EXPONENT = 65537n;

/** A checked RSA public key with its SPKI DER, fingerprint and size. */
export interface PublicKeyInfo {
  readonly publicKey: KeyObject;
  readonly spkiDer: Buffer;
  readonly fingerprint: string;
  readonly bits: number;
}

/** A local identity key pair, named by its key UUID. */
export interface KeyPair extends PublicKeyInfo {
  readonly keyUuid: string;
  readonly privateKey: KeyObject;
}

/**
 * Checks that `key` is an RSA public key arozdfs accepts and describes it. `what` names the key in
 * errors. Throws ERR_KEY_UNSUPPORTED for another algorithm, size or exponent.
 */
export function describePublicKey(key: KeyObject, what: string): PublicKeyInfo {
  if (key.type !== 'public') throw new TypeError(`${what}: expected a public KeyObject, got "${key.type}"`);
  if (key.asymmetricKeyType !== 'rsa') {
    throw new ArozError(
      'ERR_KEY_UNSUPPORTED',
      `${what} is a "${key.asymmetricKeyType ?? 'unknown'}" key; arozdfs needs an RSA key`,
    );
  }
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  const exponent = key.asymmetricKeyDetails?.publicExponent;
  if (bits < MIN_RSA_BITS || bits > MAX_RSA_BITS) {
    throw new ArozError(
      'ERR_KEY_UNSUPPORTED',
      `${what} has ${bits} bits; arozdfs accepts RSA keys of ${MIN_RSA_BITS} to ${MAX_RSA_BITS} bits`,
    );
  }
  if (exponent !== RSA_EXPONENT) {
    throw new ArozError(
      'ERR_KEY_UNSUPPORTED',
      `${what} has the public exponent ${String(exponent)}; arozdfs accepts only ${RSA_EXPONENT}`,
    );
  }
  const spkiDer = key.export({ type: 'spki', format: 'der' });
  return { publicKey: key, spkiDer, fingerprint: fingerprintOf(spkiDer), bits };
}

/**
 * Reads SPKI DER into a checked public key. The DER must be exactly what the key exports again (no
 * trailing bytes, no alternative encodings), so the fingerprint is over the bytes that were given.
 */
export function publicKeyFromSpki(der: Uint8Array, what: string): PublicKeyInfo {
  let key: KeyObject;
  try {
    key = createPublicKey({ key: Buffer.from(der), format: 'der', type: 'spki' });
  } catch (err) {
    throw new ArozError('ERR_KEY_INVALID', `${what} is not a readable public key`, { cause: err });
  }
  const info = describePublicKey(key, what);
  if (!info.spkiDer.equals(der)) {
    throw new ArozError('ERR_KEY_INVALID', `${what} is not a canonical DER public key (extra or odd bytes)`);
  }
  return info;
}

/** Builds a checked key pair from a PKCS#8 PEM private key; `what` names its file in errors. */
export function keyPairFromPrivatePem(keyUuid: string, pem: string, what: string): KeyPair {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: pem, format: 'pem' });
  } catch (err) {
    throw new ArozError('ERR_KEY_INVALID', `${what} is not a readable, unencrypted PEM private key`, {
      cause: err,
    });
  }
  const info = describePublicKey(createPublicKey(privateKey), what);
  return { ...info, keyUuid, privateKey };
}

/** Generates a new RSA key pair with e = 65537 off the main thread. The key UUID is new. */
export async function generateKeyPair(
  bits: number,
  options: { signal?: AbortSignal } = {},
): Promise<KeyPair> {
  if (!Number.isInteger(bits) || bits < MIN_RSA_BITS || bits > MAX_RSA_BITS) {
    throw new ArozError('ERR_KEY_UNSUPPORTED', `Cannot make an RSA key of "${bits}" bits`);
  }
  options.signal?.throwIfAborted();
  const { privateKey, publicKey } = await new Promise<{ privateKey: KeyObject; publicKey: KeyObject }>(
    (resolve, reject) => {
      const onAbort = () => reject(options.signal?.reason);
      options.signal?.addEventListener('abort', onAbort, { once: true });
      generate('rsa', { modulusLength: bits, publicExponent: Number(RSA_EXPONENT) }, (err, pub, priv) => {
        options.signal?.removeEventListener('abort', onAbort);
        if (err) reject(err);
        else resolve({ privateKey: priv, publicKey: pub });
      });
    },
  );
  return { ...describePublicKey(publicKey, 'The new key'), keyUuid: newUuid(), privateKey };
}

/** PKCS#8 PEM of a private key (unencrypted: the file's mode protects it). */
export function privateKeyPem(keyPair: KeyPair): string {
  return keyPair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
}

/** SPKI PEM of a public key. */
export function publicKeyPem(key: PublicKeyInfo): string {
  return pemOf(key.spkiDer, 'PUBLIC KEY');
}
