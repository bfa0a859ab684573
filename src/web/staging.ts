/**
 * Browser uploads whose bytes are still arriving (docs/web.md "Uploads"): the upload job starts as soon
 * as the request does and reads the staging file as it grows. The job's reads of a range not staged
 * yet wait for it; a request that is cut (or longer or shorter than it said) fails them, and so the
 * job. The file keeps the size the request announced and a modification time fixed at the start, so
 * a job resumed after a restart finds the same file (the upload journal compares both).
 *
 * The staged file is not fsynced: it is a scratch copy the job reads back from the page cache, and
 * syncing it would write every upload to this node's disk once more for nothing. Its folder holds the
 * kernel's boot id instead (`.boot`): only a reboot (power loss, a kernel crash) can lose unsynced
 * pages, so a job that finds another boot id refuses the file (upload it again) rather than read
 * what may be holes. Where no boot id can be read, the file is fsynced as before.
 */
import type { FileHandle } from 'node:fs/promises';
import { open, readFile, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { OpenedFile } from '../chunk/files.ts';
import { ArozError, fromSystemError } from '../errors.ts';

/** One upload being staged. */
export class GrowingFile {
  readonly size: number;
  /** Whole seconds: the staged file's mtime is set to exactly this when it is complete. */
  readonly mtimeSeconds: number;
  readonly partPath: string;
  #written = 0;
  #failure: Error | undefined;
  #done = false;
  #waiters = new Set<() => void>();

  constructor(partPath: string, size: number, mtimeSeconds: number) {
    this.partPath = partPath;
    this.size = size;
    this.mtimeSeconds = mtimeSeconds;
  }

  get mtimeNs(): bigint {
    return BigInt(this.mtimeSeconds) * 1_000_000_000n;
  }

  /** `bytes` more are written to the staging file (in order). */
  advance(bytes: number): void {
    this.#written += bytes;
    this.#wake();
  }

  /** Every byte is staged, synced and renamed into place. */
  finish(): void {
    this.#done = true;
    this.#wake();
  }

  /** The request failed: every read waiting or to come fails with `err`. */
  fail(err: Error): void {
    this.#failure ??= err;
    this.#wake();
  }

  /** Resolves once bytes [0, end) are staged; rejects when staging failed first. */
  async waitFor(end: number): Promise<void> {
    for (;;) {
      if (this.#failure !== undefined) throw this.#failure;
      if (this.#written >= end || this.#done) return;
      await new Promise<void>((resolve) => this.#waiters.add(resolve));
    }
  }

  #wake(): void {
    const waiters = [...this.#waiters];
    this.#waiters.clear();
    for (const wake of waiters) wake();
  }
}

export class LiveStaging {
  #files = new Map<string, GrowingFile>();

  /** Registers the upload that will end up at `path` (staged meanwhile at `partPath`). */
  begin(path: string, partPath: string, size: number): GrowingFile {
    const growing = new GrowingFile(partPath, size, Math.floor(Date.now() / 1000));
    this.#files.set(path, growing);
    return growing;
  }

  /** The request is over (staged whole, or failed): later jobs read the file itself. */
  end(path: string): void {
    this.#files.delete(path);
  }

  /**
   * The upload job's source for `path` while it is being staged, else undefined (the job opens the
   * file as usual). Reads wait for the bytes they ask for.
   */
  async source(path: string): Promise<OpenedFile | undefined> {
    const growing = this.#files.get(path);
    if (growing === undefined) {
      await checkBoot(path);
      return undefined;
    }
    let fh: FileHandle;
    try {
      // Its descriptor outlives the rename of the .part file into place.
      fh = await open(growing.partPath, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        // Renamed into place between the lookup and the open: staged whole (or failed, which
        // waitFor throws), so the job reads the file itself.
        await growing.waitFor(growing.size);
        return undefined;
      }
      throw fromSystemError(err, `Cannot read the staging file "${growing.partPath}"`);
    }
    const reader = {
      read: async (buffer: Buffer, offset: number, length: number, position: number) => {
        await growing.waitFor(Math.min(growing.size, position + length));
        return fh.read(buffer, offset, length, position);
      },
      stat: async () => {
        await growing.waitFor(growing.size);
        return { size: BigInt(growing.size), mtimeNs: growing.mtimeNs };
      },
      close: () => fh.close(),
    };
    return { fh: reader as unknown as FileHandle, size: growing.size, mtimeNs: growing.mtimeNs };
  }
}

/** The error a job's read gets when the browser's request stopped. */
export function cutError(name: string, size: number, length: number): ArozError {
  return new ArozError('ERR_INTERRUPTED', `The upload of "${name}" stopped after ${size} of ${length} bytes`);
}

const BOOT_ID = '/proc/sys/kernel/random/boot_id';
const MARKER = '.boot';
let bootId: Promise<string | undefined> | undefined;

/** The kernel's boot id (changes at every boot), or undefined where there is none. */
export function currentBoot(): Promise<string | undefined> {
  bootId ??= readFile(BOOT_ID, 'utf8').then(
    (text) => (/^[0-9a-f-]{36}$/.test(text.trim()) ? text.trim() : undefined),
    () => undefined,
  );
  return bootId;
}

/**
 * Marks an upload's staging folder with this boot's id; false when there is none (then the staged
 * file must be fsynced).
 */
export async function markBoot(folder: string): Promise<boolean> {
  const boot = await currentBoot();
  if (boot === undefined) return false;
  await writeFile(join(folder, MARKER), `${boot}\n`, { mode: 0o600, flag: 'wx' });
  return true;
}

/** ERR_INTERRUPTED when the staged file at `path` was written before a reboot without being synced. */
async function checkBoot(path: string): Promise<void> {
  const marked = await readFile(join(dirname(path), MARKER), 'utf8').catch(() => undefined);
  if (marked === undefined) return; // fsynced when staged
  if (marked.trim() === (await currentBoot())) return;
  throw new ArozError(
    'ERR_INTERRUPTED',
    `The browser upload of "${basename(path)}" was staged before this computer restarted, and its staged copy may be incomplete: upload it again`,
  );
}
