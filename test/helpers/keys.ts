/**
 * Keys for tests of src/keys and src/home. Real RSA-3072 pairs cost 0.1–0.5 s each, so they are made
 * once per process and reused by index. Odd public keys (too small, too large, e ≠ 65537) are built
 * from a random modulus through JWK: not real keys, but exactly what a parser sees, and instant.
 */
import { createPublicKey, generateKeyPairSync, type KeyObject, randomBytes } from 'node:crypto';
import { generateKeyPair, type KeyPair } from '../../src/keys/rsa.ts';

const pairs = new Map<number, Promise<KeyPair>>();

/** The n-th test key pair of this process (RSA-3072, made on first use). */
export function testKeyPair(n = 0): Promise<KeyPair> {
  let pair = pairs.get(n);
  if (pair === undefined) {
    pair = generateKeyPair(3072);
    pairs.set(n, pair);
  }
  return pair;
}

/** An RSA public key with a random odd modulus of exactly `bits` bits and exponent `exponent`. */
export function oddRsaPublicKey(bits: number, exponent = 65537): KeyObject {
  const n = randomBytes(Math.ceil(bits / 8));
  const topBits = bits % 8 === 0 ? 8 : bits % 8;
  n[0] = ((n[0] ?? 0) & ((1 << topBits) - 1)) | (1 << (topBits - 1));
  n[n.length - 1] = (n[n.length - 1] ?? 0) | 1;
  const hex = exponent.toString(16);
  const e = Buffer.from(hex.length % 2 === 1 ? `0${hex}` : hex, 'hex');
  return createPublicKey({
    key: { kty: 'RSA', n: n.toString('base64url'), e: e.toString('base64url') },
    format: 'jwk',
  });
}

export function ecPublicKey(): KeyObject {
  return generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;
}

export function ed25519PublicKey(): KeyObject {
  return generateKeyPairSync('ed25519').publicKey;
}

export function spkiOf(key: KeyObject): Buffer {
  return key.export({ type: 'spki', format: 'der' });
}
