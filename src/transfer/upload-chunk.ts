/**
 * The copies of one chunk during an upload: opening a writer for each pass on its target or the next
 * fallback (docs/transfer.md "When a target fails"), streaming pieces to all of them at once (FanOut), finishing them, and
 * re-sending a copy whose target failed to the next fallback. A re-send re-reads the chunk's bytes
 * from the file for that one target, through one pooled 1 MiB buffer, and hashes them again: bytes
 * that differ from the first read mean the file changed (ERR_FILE_CHANGED). ERR_BUSY is retried on
 * the same node with backoff; any other failure moves the copy on.
 */
import { createHash } from 'node:crypto';
import { readFully } from '../chunk/copy.ts';
import type { OpenedFile } from '../chunk/files.ts';
import { ArozError, isArozError } from '../errors.ts';
import type { ChunkLists } from '../placement/index.ts';
import type { ChunkWriter, PutResult } from '../store/types.ts';
import { answerOf, formatAnswer, idle, isFatal, sleep, throwIfAborted } from './idle.ts';
import type { CopyRecord, PlannedChunk, UploadJournal } from './journal.ts';
import type { RunNodes } from './nodes.ts';
import type { Redundancy } from './redundancy.ts';
import { type BusyPolicy, type NodeAnswer, PIECE, type TransferNotice } from './types.ts';

/** What every chunk of one upload shares. */
export interface UploadContext {
  /** The file as the user named it, quoted in messages. */
  path: string;
  source: OpenedFile;
  /** Each chunk's list: pass p on `lists(i)[(p·x) mod n]`, fallbacks after it (src/placement). */
  lists: ChunkLists;
  shift: number;
  /** How many pieces each chunk is stored as, where they go, and where a failed one is re-sent. */
  redundancy: Redundancy;
  nodes: RunNodes;
  meta: { uploader: string; indexId: string };
  idleMs: number;
  busy: BusyPolicy;
  /** The run's signal: aborted by the caller, or by the run itself at its first failure. */
  signal: AbortSignal;
  journal: UploadJournal | undefined;
  notice: (notice: TransferNotice) => void;
  /** Copies this run created (finish answered 'created'), for the cleanup of a failed upload. */
  created: Array<{ node: string; uuid: string }>;
  /** Writers given up on while finishing: a failed upload waits for them before it cleans up. */
  settling: Array<Promise<unknown>>;
  /** Spare 1 MiB buffers for re-sends. */
  spare: Buffer[];
  changed: () => ArozError;
}

export interface Copy {
  pass: number;
  node: string;
  writer: ChunkWriter;
  /** Set when a write failed or made no progress; the writer is then aborted. */
  failure?: unknown;
}

export class ChunkUpload {
  readonly i: number;
  readonly uuid: string;
  readonly offset: number;
  readonly size: number;
  /** The node holding each pass's copy, once stored. */
  readonly holders: Array<string | undefined>;
  #ctx: UploadContext;
  #list: readonly string[];
  #taken = new Set<string>();
  #failed = new Set<string>();
  #busy = new Map<string, number>();
  #answers: NodeAnswer[] = [];

  constructor(ctx: UploadContext, planned: PlannedChunk, offset: number, size: number) {
    this.#ctx = ctx;
    this.#list = ctx.lists(planned.i);
    this.i = planned.i;
    this.uuid = planned.uuid;
    this.offset = offset;
    this.size = size;
    this.holders = Array.from({ length: ctx.redundancy.pieces }, () => undefined);
  }

  /** Resume: keeps each journaled copy that its node confirms (head: same size and SHA-256). */
  async confirm(records: readonly CopyRecord[]): Promise<void> {
    await Promise.all(
      records.map(async ({ pass, node, sha256 }) => {
        if (this.holders[pass] !== undefined || this.#taken.has(node)) return;
        this.#taken.add(node);
        try {
          const store = await this.#ctx.nodes.store(node);
          const info = await this.#idle(store.head(this.uuid, { signal: this.#ctx.signal }), node, 'answer');
          if (info?.sha256 === sha256 && info.size === this.size) {
            this.holders[pass] = node;
            return;
          }
        } catch (err) {
          if (isFatal(err, this.#ctx.signal)) throw err;
          this.#ctx.nodes.failed(node, err);
        }
        this.#taken.delete(node);
      }),
    );
  }

  /** Passes without a stored copy. */
  missing(): number[] {
    return this.holders.flatMap((node, pass) => (node === undefined ? [pass] : []));
  }

  /** A writer for pass `pass` on `first` (a busy node asked again), its target, or a fallback. */
  async open(pass: number, first?: string): Promise<Copy> {
    for (const node of this.#candidates(pass, first)) {
      this.#taken.add(node);
      for (;;) {
        let put: Promise<ChunkWriter> | undefined;
        try {
          const store = await this.#ctx.nodes.store(node);
          put = store.beginPut(this.uuid, {
            size: this.size,
            meta: { ...this.#ctx.meta, i: this.i },
            signal: this.#ctx.signal,
          });
          return { pass, node, writer: await this.#idle(put, node, 'answer') };
        } catch (err) {
          // A put that opens after we gave up on it must not stay open.
          void put?.then((late) => late.abort(err)).catch(() => {});
          if (await this.#retryBusy(node, err)) continue;
          this.#fail(pass, node, err);
          break;
        }
      }
    }
    throw this.#notEnough(pass);
  }

  /** After the stream: finishes every copy, re-sending those that failed, and records them. */
  async complete(copies: readonly Copy[], sha256: string): Promise<void> {
    await Promise.all(copies.map((copy) => this.#finish(copy, sha256)));
  }

  async #finish(first: Copy, sha256: string): Promise<void> {
    let copy = first;
    for (;;) {
      let result: PutResult;
      let finishing: Promise<PutResult> | undefined;
      try {
        if (copy.failure !== undefined) throw copy.failure;
        finishing = copy.writer.finish(sha256);
        result = await this.#idle(finishing, copy.node, 'answer', copy.writer);
      } catch (err) {
        this.#abandon(copy, finishing, err);
        const again = await this.#retryBusy(copy.node, err);
        if (!again) this.#fail(copy.pass, copy.node, err);
        else this.#taken.delete(copy.node);
        copy = await this.#resend(copy.pass, sha256, again ? copy.node : undefined);
        continue;
      }
      this.holders[copy.pass] = copy.node;
      if (result === 'created') this.#ctx.created.push({ node: copy.node, uuid: this.uuid });
      await this.#ctx.journal?.recordCopy({ i: this.i, pass: copy.pass, node: copy.node, sha256 });
      return;
    }
  }

  /**
   * Gives up a writer. One that was finishing goes on (a put in its last step is not cut) and may
   * still store the copy: it is waited for if the upload fails, and a copy it created counts as
   * created, so that the cleanup of a failed upload finds it.
   */
  #abandon(copy: Copy, finishing: Promise<PutResult> | undefined, err: unknown): void {
    const aborted = copy.writer.abort(err).catch(() => {});
    const late = finishing?.then(
      (result) => {
        if (result === 'created') this.#ctx.created.push({ node: copy.node, uuid: this.uuid });
      },
      () => {},
    );
    this.#ctx.settling.push(Promise.all([aborted, late]));
  }

  /** Opens a writer for the pass and streams the chunk to it from the file; ready to finish. */
  async #resend(pass: number, sha256: string, first: string | undefined): Promise<Copy> {
    let next = first;
    for (;;) {
      const copy = await this.open(pass, next);
      try {
        await this.#streamFromFile(copy, sha256);
        return copy;
      } catch (err) {
        void copy.writer.abort(err).catch(() => {});
        if (isArozError(err, 'ERR_FILE_CHANGED')) throw err;
        const again = await this.#retryBusy(copy.node, err);
        if (!again) this.#fail(pass, copy.node, err);
        else this.#taken.delete(copy.node);
        next = again ? copy.node : undefined;
      }
    }
  }

  async #streamFromFile(copy: Copy, sha256: string): Promise<void> {
    const { source, spare } = this.#ctx;
    const buffer = spare.pop() ?? Buffer.allocUnsafeSlow(PIECE);
    try {
      const hash = createHash('sha256');
      for (let pos = 0; pos < this.size; pos += PIECE) {
        throwIfAborted(this.#ctx.signal, `Uploading "${this.#ctx.path}"`);
        const view = buffer.subarray(0, Math.min(PIECE, this.size - pos));
        await readFully(source.fh, view, this.offset + pos, `"${this.#ctx.path}"`, this.#ctx.changed);
        hash.update(view);
        await this.#idle(copy.writer.write(view), copy.node, 'write', copy.writer);
      }
      if (hash.digest('hex') !== sha256) throw this.#ctx.changed();
    } finally {
      spare.push(buffer);
    }
  }

  /** Sends `piece` to every live copy; a copy whose write fails is marked and aborted. Never rejects. */
  fanOut(copies: readonly Copy[], piece: Buffer): Promise<void> {
    const writes = copies
      .filter((copy) => copy.failure === undefined)
      .map((copy) =>
        this.#idle(copy.writer.write(piece), copy.node, 'write', copy.writer).catch((err: unknown) => {
          if (copy.failure !== undefined) return;
          copy.failure = err;
          void copy.writer.abort(err).catch(() => {});
        }),
      );
    return Promise.all(writes).then(() => {});
  }

  /** Aborts writers that will not be finished (the stream failed). */
  static abortAll(copies: readonly Copy[], reason: unknown): void {
    for (const copy of copies) void copy.writer.abort(reason).catch(() => {});
  }

  *#candidates(pass: number, first: string | undefined): Generator<string, void, undefined> {
    const { shift, nodes, redundancy } = this.#ctx;
    const list = this.#list;
    const plan = redundancy.targets(list, 0, shift);
    // Another pass still waiting for its own planned target keeps it: passes open concurrently.
    const plannedByOther = (node: string) =>
      this.holders.some((h, q) => q !== pass && h === undefined && plan[q] === node);
    const skip = (node: string) =>
      this.#taken.has(node) || this.#failed.has(node) || nodes.isDead(node) || plannedByOther(node);
    if (first !== undefined && !skip(first)) yield first;
    const planned = plan[pass];
    if (planned !== undefined && !skip(planned)) yield planned;
    yield* redundancy.fallbacks(list, 0, pass, shift, skip);
  }

  /** On ERR_BUSY from `node`, waits and answers true while attempts remain. Rethrows fatal errors. */
  async #retryBusy(node: string, err: unknown): Promise<boolean> {
    if (isFatal(err, this.#ctx.signal) || isArozError(err, 'ERR_FILE_CHANGED')) throw err;
    if (!isArozError(err, 'ERR_BUSY')) return false;
    const { attempts, firstDelayMs, maxDelayMs } = this.#ctx.busy;
    const attempt = (this.#busy.get(node) ?? 0) + 1;
    this.#busy.set(node, attempt);
    if (attempt >= attempts) return false;
    const delayMs = Math.min(maxDelayMs, firstDelayMs * 2 ** (attempt - 1));
    this.#ctx.notice({ type: 'busy', i: this.i, uuid: this.uuid, node, attempt, delayMs });
    await sleep(delayMs, this.#ctx.signal, `Uploading "${this.#ctx.path}"`);
    return true;
  }

  #fail(pass: number, node: string, err: unknown): void {
    if (isFatal(err, this.#ctx.signal) || isArozError(err, 'ERR_FILE_CHANGED')) throw err;
    const answer = answerOf(err, { i: this.i, uuid: this.uuid, node });
    this.#taken.delete(node);
    this.#failed.add(node);
    this.#answers.push(answer);
    this.#ctx.nodes.failed(node, err);
    this.#ctx.notice({ type: 'copy-moved', pass, ...answer });
  }

  #notEnough(pass: number): ArozError {
    const stored = this.holders.filter((node) => node !== undefined).length;
    const answers = this.#answers.map(formatAnswer).join('; ');
    return new ArozError(
      'ERR_NOT_ENOUGH_NODES',
      `Cannot upload "${this.#ctx.path}": no node could take copy ${pass + 1} of chunk ${this.i} ("${this.uuid}") (${stored} of ${this.#ctx.redundancy.pieces} stored); ${answers || 'no other node to try'}`,
    );
  }

  #idle<T>(work: Promise<T>, node: string, what: 'answer' | 'write', writer?: ChunkWriter): Promise<T> {
    const ms = this.#ctx.idleMs;
    return idle(work, {
      ms,
      signal: this.#ctx.signal,
      doing: `Uploading "${this.#ctx.path}"`,
      timeout: () =>
        new ArozError(
          'ERR_TIMEOUT',
          what === 'write'
            ? `Node "${node}" made no progress on chunk ${this.i} ("${this.uuid}") for ${ms} ms`
            : `Node "${node}" did not answer for chunk ${this.i} ("${this.uuid}") within ${ms} ms`,
        ),
      onTimeout: () => void writer?.abort().catch(() => {}),
    });
  }
}
