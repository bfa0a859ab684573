/**
 * Journals in a JSON-lines file (docs/transfer.md): the plan is written atomically (temp file, fsync,
 * rename, fsync folder), replacing any earlier content; each record is then appended as one line and
 * fdatasync'ed before the engine goes on. A crash can only tear the last line: a reader drops a torn
 * last line (and cuts it off, so the next append starts clean); anything else malformed is
 * ERR_JOURNAL_INVALID.
 */
import type { promises as fsp } from 'node:fs';
import { open, readFile, rm, truncate } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { isTempName, writeFileAtomic } from '../durable/index.ts';
import { fromSystemError } from '../errors.ts';
import {
  type CopyRecord,
  type DownloadJournal,
  type DownloadJournalState,
  type DownloadPlan,
  journalError,
  type UploadJournal,
  type UploadJournalState,
  type UploadPlan,
  validRecord,
} from './journal.ts';

type Line = Record<string, unknown>;

class JsonLinesFile {
  readonly path: string;
  #handle: Promise<fsp.FileHandle> | undefined;
  #queue: Promise<void> = Promise.resolve();

  constructor(path: string) {
    this.path = path;
  }

  /** The lines, or undefined when there is no file. */
  async read(): Promise<Line[] | undefined> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw fromSystemError(err, `Cannot read the journal "${this.path}"`);
    }
    const end = text.lastIndexOf('\n') + 1;
    if (end < text.length) await truncate(this.path, Buffer.byteLength(text.slice(0, end)));
    const lines: Line[] = [];
    for (const raw of text.slice(0, end).split('\n')) {
      if (raw === '') continue;
      let value: unknown;
      try {
        value = JSON.parse(raw);
      } catch {
        throw journalError(`"${this.path}"`, `has a line that is not JSON`);
      }
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        throw journalError(`"${this.path}"`, 'has a line that is not a JSON object');
      }
      lines.push(value as Line);
    }
    return lines;
  }

  /** Replaces the file with `lines`, atomically and durably. */
  async rewrite(lines: readonly Line[]): Promise<void> {
    await this.#enqueue(async () => {
      await this.#closeHandle();
      const text = lines.map((line) => `${JSON.stringify(line)}\n`).join('');
      await writeFileAtomic(this.path, text, { overwrite: true, mode: 0o600 });
    });
  }

  /** Appends one line and fdatasyncs it. */
  append(line: Line): Promise<void> {
    return this.#enqueue(async () => {
      this.#handle ??= open(this.path, 'a', 0o600);
      const handle = await this.#handle;
      try {
        await handle.write(`${JSON.stringify(line)}\n`);
        await handle.datasync();
      } catch (err) {
        throw fromSystemError(err, `Cannot write the journal "${this.path}"`);
      }
    });
  }

  async close(): Promise<void> {
    await this.#enqueue(() => this.#closeHandle());
  }

  async remove(): Promise<void> {
    await this.close();
    await rm(this.path, { force: true });
  }

  #enqueue(work: () => Promise<void>): Promise<void> {
    const run = this.#queue.then(work);
    this.#queue = run.catch(() => {});
    return run;
  }

  async #closeHandle(): Promise<void> {
    const handle = this.#handle;
    this.#handle = undefined;
    await (await handle?.catch(() => undefined))?.close();
  }
}

function shaped(lines: Line[], path: string, type: string, ok: (line: Line, k: number) => boolean): Line[] {
  const bad = lines.find((line, k) => line.type !== type || !ok(line, k));
  if (bad !== undefined) throw journalError(`"${path}"`, `has a malformed "${String(bad.type)}" line`);
  return lines;
}

/** An UploadJournal in a JSON-lines file: a plan line, one line per planned chunk, then copies. */
export class FileUploadJournal implements UploadJournal {
  #file: JsonLinesFile;

  constructor(path: string) {
    this.#file = new JsonLinesFile(path);
  }

  get path(): string {
    return this.#file.path;
  }

  async load(): Promise<UploadJournalState | undefined> {
    const lines = await this.#file.read();
    if (lines === undefined || lines.length === 0) return undefined;
    const [head, ...rest] = lines;
    shaped([head!], this.path, 'upload-plan', validRecord.uploadPlan);
    const count = head!.chunks as number;
    if (rest.length < count) throw journalError(`"${this.path}"`, 'ends inside its plan');
    const chunks = shaped(rest.slice(0, count), this.path, 'planned', validRecord.planned).map(
      ({ i, uuid, targets }) => ({ i, uuid, targets }) as UploadPlan['chunks'][number],
    );
    const copies = shaped(rest.slice(count), this.path, 'copy', validRecord.copy).map(
      ({ i, pass, node, sha256 }) => ({ i, pass, node, sha256 }) as CopyRecord,
    );
    const { type: _type, chunks: _count, ...plan } = head!;
    return { plan: { ...(plan as Omit<UploadPlan, 'chunks'>), chunks }, copies };
  }

  writePlan(plan: UploadPlan): Promise<void> {
    const { chunks, ...head } = plan;
    return this.#file.rewrite([
      { type: 'upload-plan', ...head, chunks: chunks.length },
      ...chunks.map((c) => ({ type: 'planned', i: c.i, uuid: c.uuid, targets: c.targets })),
    ]);
  }

  recordCopy(copy: CopyRecord): Promise<void> {
    return this.#file.append({ type: 'copy', ...copy });
  }

  close(): Promise<void> {
    return this.#file.close();
  }

  /** Deletes the journal (the upload finished, or was given up). */
  remove(): Promise<void> {
    return this.#file.remove();
  }
}

/** A DownloadJournal in a JSON-lines file: a plan line, then one line per verified chunk. */
export class FileDownloadJournal implements DownloadJournal {
  #file: JsonLinesFile;

  constructor(path: string) {
    this.#file = new JsonLinesFile(path);
  }

  get path(): string {
    return this.#file.path;
  }

  async load(): Promise<DownloadJournalState | undefined> {
    const lines = await this.#file.read();
    if (lines === undefined || lines.length === 0) return undefined;
    const [head, ...rest] = lines;
    shaped([head!], this.path, 'download-plan', validRecord.downloadPlan);
    const { indexId, indexSha256, out, tempPath } = head as unknown as DownloadPlan;
    if (dirname(tempPath) !== dirname(out) || !isTempName(basename(tempPath))) {
      throw journalError(`"${this.path}"`, 'names a partial file that is not a temp file beside the output');
    }
    const done = shaped(rest, this.path, 'chunk', validRecord.chunk).map((line) => line.i as number);
    return { plan: { indexId, indexSha256, out, tempPath }, done };
  }

  writePlan(plan: DownloadPlan): Promise<void> {
    return this.#file.rewrite([{ type: 'download-plan', ...plan }]);
  }

  recordChunk(i: number, node: string): Promise<void> {
    return this.#file.append({ type: 'chunk', i, node });
  }

  close(): Promise<void> {
    return this.#file.close();
  }

  /**
   * Gives the download up for good (a cancelled job): removes the partial file the journal names and
   * then the journal itself.
   */
  async remove(): Promise<void> {
    const state = await this.load().catch(() => undefined);
    if (state !== undefined) await rm(state.plan.tempPath, { force: true });
    await this.#file.remove();
  }
}
