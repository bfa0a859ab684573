/**
 * Client-side encryption of chunks (docs/encryption.md): every file gets a fresh random 256-bit key;
 * chunk i is sealed with AES-256-GCM under that key with the 96-bit nonce 0x00000000 ‖ i (big-endian
 * 64 bits) and the associated data "arozdfs-chunk\n" ‖ index id ‖ "\n" ‖ i, and stored as ciphertext ‖
 * 16-byte tag. A key is never used for a second file, and within a file each chunk number has its
 * own nonce, so a (key, nonce) pair never seals two different plaintexts: an upload that is cut and
 * started again makes a new key. Sealing and opening stream in pieces: nothing holds a whole chunk.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { ArozError } from '../errors.ts';

export const CIPHER = 'AES-256-GCM';
/** Bytes a sealed chunk has beyond its plain bytes: the GCM tag. */
export const TAG_BYTES = 16;
export const KEY_BYTES = 32;

/** A fresh random file key. */
export function newFileKey(): Buffer {
  return randomBytes(KEY_BYTES);
}

export function chunkNonce(i: number): Buffer {
  if (!Number.isSafeInteger(i) || i < 0) throw new RangeError(`No nonce for chunk ${i}`);
  const nonce = Buffer.alloc(12);
  nonce.writeBigUInt64BE(BigInt(i), 4);
  return nonce;
}

function chunkAad(indexId: string, i: number): Buffer {
  return Buffer.from(`arozdfs-chunk\n${indexId}\n${i}`, 'utf8');
}

/** Seals one chunk as it streams: `update` gives the ciphertext of each piece, `final` the tag. */
export class ChunkSealer {
  #cipher;

  constructor(key: Uint8Array, indexId: string, i: number) {
    this.#cipher = createCipheriv('aes-256-gcm', key, chunkNonce(i), { authTagLength: TAG_BYTES });
    this.#cipher.setAAD(chunkAad(indexId, i));
  }

  /** Encrypts `plain` into `out` (same length; they may be the same buffer). */
  update(plain: Uint8Array, out: Buffer): void {
    const c = this.#cipher.update(plain);
    c.copy(out, 0);
  }

  final(): Buffer {
    this.#cipher.final();
    return this.#cipher.getAuthTag();
  }
}

/**
 * Opens one sealed chunk as it streams: `update` gives plain bytes that count only once `final`
 * has checked the tag (ERR_DECRYPT_FAILED: wrong key, or bytes not sealed by it).
 */
export class ChunkOpener {
  #decipher;
  #what: string;

  constructor(key: Uint8Array, indexId: string, i: number, what: string) {
    this.#decipher = createDecipheriv('aes-256-gcm', key, chunkNonce(i), { authTagLength: TAG_BYTES });
    this.#decipher.setAAD(chunkAad(indexId, i));
    this.#what = what;
  }

  update(sealed: Uint8Array): Buffer {
    return this.#decipher.update(sealed);
  }

  final(tag: Uint8Array): void {
    try {
      this.#decipher.setAuthTag(tag);
      this.#decipher.final();
    } catch (err) {
      throw new ArozError(
        'ERR_DECRYPT_FAILED',
        `${this.#what} does not authenticate: its bytes were not sealed with this file's key (tampered, or the wrong key)`,
        { cause: err },
      );
    }
  }
}
