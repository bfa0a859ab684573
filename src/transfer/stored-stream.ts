/**
 * The bytes a chunk is stored as, produced in order from the file: the plain bytes, or — for an
 * encrypted upload — their AES-256-GCM ciphertext followed by the 16-byte tag (src/crypto). Every
 * plain byte read is handed to `onPlain` (the file's hash) on the way.
 */
import type { promises as fsp } from 'node:fs';
import { readFully } from '../chunk/copy.ts';
import { ChunkSealer, TAG_BYTES } from '../crypto/index.ts';
import type { ArozError } from '../errors.ts';

export interface SealKey {
  key: Uint8Array;
  indexId: string;
}

export class StoredStream {
  /** Bytes of the stored chunk: plain size, plus the tag when sealed. */
  readonly length: number;
  #fh: fsp.FileHandle;
  #offset: number;
  #size: number;
  #sealer: ChunkSealer | undefined;
  #tag: Buffer | undefined;
  #pos = 0;
  #name: string;
  #changed: () => ArozError;
  #onPlain: (bytes: Buffer) => void;

  constructor(o: {
    fh: fsp.FileHandle;
    /** Where the chunk starts in the file, its plain size, and chunk number. */
    offset: number;
    size: number;
    i: number;
    seal: SealKey | undefined;
    name: string;
    changed: () => ArozError;
    onPlain?: (bytes: Buffer) => void;
  }) {
    this.#fh = o.fh;
    this.#offset = o.offset;
    this.#size = o.size;
    this.#sealer = o.seal === undefined ? undefined : new ChunkSealer(o.seal.key, o.seal.indexId, o.i);
    this.length = o.size + (o.seal === undefined ? 0 : TAG_BYTES);
    this.#name = o.name;
    this.#changed = o.changed;
    this.#onPlain = o.onPlain ?? (() => {});
  }

  /** Fills `into` with the next `into.length` stored bytes. */
  async read(into: Buffer): Promise<void> {
    if (this.#pos + into.length > this.length) throw new RangeError('Read past the end of a stored chunk');
    let filled = 0;
    const plain = Math.min(into.length, Math.max(0, this.#size - this.#pos));
    if (plain > 0) {
      const view = into.subarray(0, plain);
      await readFully(this.#fh, view, this.#offset + this.#pos, this.#name, this.#changed);
      this.#onPlain(view);
      this.#sealer?.update(view, view);
      filled = plain;
      this.#pos += plain;
    }
    if (filled < into.length) {
      this.#tag ??= this.#sealer!.final();
      const from = this.#pos - this.#size;
      const n = into.length - filled;
      this.#tag.copy(into, filled, from, from + n);
      this.#pos += n;
    }
  }
}
