/**
 * The bytes a chunk is stored as, produced in order from the file: the plain bytes, or — for an
 * encrypted upload — their AES-256-GCM ciphertext followed by the 16-byte tag (src/crypto). Given a
 * chunk ring (src/chunk/ring.ts), the plain bytes are read into its slots and fed to its worker for
 * the whole file's SHA-256 (off this thread), then copied or sealed into the caller's buffer.
 */
import type { promises as fsp } from 'node:fs';
import { readFully } from '../chunk/copy.ts';
import type { BufferRing } from '../chunk/ring.ts';
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
  #ring: BufferRing | undefined;

  constructor(o: {
    fh: fsp.FileHandle;
    /** Where the chunk starts in the file, its plain size, and chunk number. */
    offset: number;
    size: number;
    i: number;
    seal: SealKey | undefined;
    name: string;
    changed: () => ArozError;
    /** Hashes the plain bytes for the whole file; absent for a re-send. */
    ring?: BufferRing;
  }) {
    this.#fh = o.fh;
    this.#offset = o.offset;
    this.#size = o.size;
    this.#sealer = o.seal === undefined ? undefined : new ChunkSealer(o.seal.key, o.seal.indexId, o.i);
    this.length = o.size + (o.seal === undefined ? 0 : TAG_BYTES);
    this.#name = o.name;
    this.#changed = o.changed;
    this.#ring = o.ring;
  }

  /** Fills `into` with the next `into.length` stored bytes. */
  async read(into: Buffer): Promise<void> {
    if (this.#pos + into.length > this.length) throw new RangeError('Read past the end of a stored chunk');
    let filled = 0;
    const plain = Math.min(into.length, Math.max(0, this.#size - this.#pos));
    const ring = this.#ring;
    while (filled < plain) {
      const n = Math.min(plain - filled, ring?.slotSize ?? plain);
      const out = into.subarray(filled, filled + n);
      if (ring === undefined) {
        await readFully(this.#fh, out, this.#offset + this.#pos, this.#name, this.#changed);
        this.#sealer?.update(out, out);
      } else {
        const slot = await ring.acquire();
        const view = ring.view(slot, n);
        try {
          await readFully(this.#fh, view, this.#offset + this.#pos, this.#name, this.#changed);
        } catch (err) {
          ring.hold(slot);
          throw err;
        }
        // The worker hashes the slot for the file while this thread copies or seals it.
        ring.hold(slot, ring.hashWhole(slot, n));
        if (this.#sealer === undefined) view.copy(out);
        else this.#sealer.update(view, out);
      }
      filled += n;
      this.#pos += n;
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
