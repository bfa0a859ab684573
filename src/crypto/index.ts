/**
 * Client-side encryption (docs/encryption.md): a fresh AES-256-GCM key per file sealing every chunk
 * on the uploader (sealed.ts), wrapped with RSA-OAEP-SHA256 for each reader's pinned key (keys.ts).
 *
 * It must never use a file key for a second file, seal two chunks with one nonce, or give back
 * plain bytes of a chunk whose tag did not verify as the chunk.
 */

export { type ReaderKey, unwrapFileKey, WRAP_ALG, type WrappedKey, wrapFileKey } from './keys.ts';
export { ChunkOpener, ChunkSealer, CIPHER, KEY_BYTES, newFileKey, TAG_BYTES } from './sealed.ts';
