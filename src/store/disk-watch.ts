/**
 * What a disk store knows about its folder: whether it is online (the marker is re-read on every
 * check) and, while online, its counts — scanned once when it comes online, then kept up to date
 * by the store's puts and deletes. Only the first scan cleans (stale temp files, orphan
 * sidecars): a later one, after the disk came back, could remove those of puts in progress.
 */
import { isArozError, isProgrammingError } from '../errors.ts';
import { type Health, markerHealth } from './disk-health.ts';
import { scanStore } from './disk-scan.ts';

export class StoreWatch {
  /** Bytes of chunk files, visible chunks, and the trash. */
  readonly counts = {
    bytes: 0,
    chunks: 0,
    trashChunks: 0,
    trashBytes: 0,
    quarantineChunks: 0,
    quarantineBytes: 0,
  };
  #root: string;
  #nodeUuid: string;
  #expected: string | undefined;
  #health: Health = { online: false, reason: 'missing-marker', message: 'not checked yet' };
  #scanned = false;
  #cleaned = false;
  #scanning: Promise<void> | undefined;
  #closed = false;

  constructor(root: string, nodeUuid: string, expectedStoreUuid: string | undefined) {
    this.#root = root;
    this.#nodeUuid = nodeUuid;
    this.#expected = expectedStoreUuid;
  }

  /** The result of the last check. */
  get health(): Health {
    return this.#health;
  }

  /** Bytes that count against a limit: chunks, trash and quarantine. */
  get used(): number {
    return this.counts.bytes + this.counts.trashBytes + this.counts.quarantineBytes;
  }

  async check(signal?: AbortSignal): Promise<Health> {
    if (this.#closed) return this.#health;
    const health = await markerHealth(this.#root, this.#nodeUuid, this.#expected);
    if (!health.online) {
      this.#health = health;
      this.#scanned = false;
      return health;
    }
    if (!this.#scanned) {
      this.#scanning ??= this.#scan(signal).finally(() => {
        this.#scanning = undefined;
      });
      await this.#scanning;
    }
    if (this.#scanned && !this.#closed) this.#health = health;
    return this.#health;
  }

  close(): void {
    this.#closed = true;
    this.#health = { online: false, reason: 'closed', message: 'the store was closed' };
  }

  async #scan(signal?: AbortSignal): Promise<void> {
    try {
      const found = await scanStore(this.#root, { clean: !this.#cleaned, signal });
      this.#cleaned = true;
      Object.assign(this.counts, {
        bytes: found.bytes,
        chunks: found.chunks,
        trashChunks: found.trashChunks,
        trashBytes: found.trashBytes,
        quarantineChunks: found.quarantineChunks,
        quarantineBytes: found.quarantineBytes,
      });
      this.#scanned = true;
    } catch (err) {
      if (isProgrammingError(err) || isArozError(err, 'ERR_INTERRUPTED')) throw err;
      const code = (err as NodeJS.ErrnoException).code ?? String(err);
      this.#health = {
        online: false,
        reason: 'io-error',
        message: `the scan of "${this.#root}" failed: ${code}`,
      };
    }
  }
}
