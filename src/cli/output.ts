/**
 * What the CLI shows. Human mode: results on stdout, narration and a progress bar on stderr (the bar
 * only on a terminal). `--json` mode: stdout carries only JSON lines — progress events, then exactly one
 * `result` or `error` line (schema in docs/cli-json.md).
 */
import type { SingleBar } from 'cli-progress';
import { ArozError } from '../errors.ts';
import { throttle } from '../throttle.ts';

export interface ProgressEvent {
  /** What is being done: 'slice', 'merge', … */
  phase: string;
  /** Bytes done so far and in all. */
  done: number;
  total: number;
  /** Chunks done so far and in all, when the work is in chunks. */
  chunksDone?: number;
  chunks?: number;
  /** Files finished (stored, fetched or failed) and in all, for a batch. */
  filesDone?: number;
  files?: number;
}

interface Writable {
  write(text: string): unknown;
  isTTY?: boolean;
}

const JSON_PROGRESS_INTERVAL_MS = 200;

/**
 * The progress bar library, loaded the first time a bar is due (a command that shows none, such as
 * `jobs list`, never loads it). Until it is there, progress events are skipped; the bar starts at the
 * next one.
 */
let barLibrary: typeof import('cli-progress') | undefined;
let barRequested = false;

function loadBarLibrary(): void {
  if (barRequested) return;
  barRequested = true;
  void import('cli-progress').then(
    (loaded) => {
      barLibrary = loaded.default ?? loaded;
    },
    () => {}, // no bar then; the command itself goes on
  );
}

export class Output {
  readonly json: boolean;
  #stdout: Writable;
  #stderr: Writable;
  #bar: SingleBar | undefined;
  #resulted = false;
  #jsonProgress = throttle(
    JSON_PROGRESS_INTERVAL_MS,
    (event: ProgressEvent) => this.#line({ type: 'progress', ...event }),
    { trailing: false },
  );

  /** The command that runs (`"peers add"`), put in every result line. */
  readonly command: string;

  constructor(
    json: boolean,
    command = '',
    stdout: Writable = process.stdout,
    stderr: Writable = process.stderr,
  ) {
    this.json = json;
    this.command = command;
    this.#stdout = stdout;
    this.#stderr = stderr;
  }

  /** Reports progress: a throttled JSON line, or a bar on a terminal, or nothing. */
  progress(event: ProgressEvent): void {
    const finished = event.done >= event.total;
    if (this.json) {
      this.#jsonProgress.push(event, finished);
      return;
    }
    if (!this.#stderr.isTTY) return;
    if (this.#bar === undefined) {
      if (barLibrary === undefined) {
        loadBarLibrary();
        return;
      }
      this.#bar = new barLibrary.SingleBar({
        format: `${event.phase} [{bar}] {percentage}% | {value}/{total} MiB${event.files !== undefined ? ' | {filesDone}/{files} files' : ''} | ETA {eta}s`,
        stream: this.#stderr as NodeJS.WritableStream,
        hideCursor: true,
        clearOnComplete: true,
      });
      this.#bar.start(mib(event.total), mib(event.done), batchPayload(event));
    }
    this.#bar.update(mib(event.done), batchPayload(event));
    if (finished) this.#stopBar();
  }

  /** A named event line in JSON mode (e.g. `ready` when a daemon listens); nothing for people. */
  event(type: string, data: Record<string, unknown>): void {
    if (this.json) this.#line({ type, command: this.command, ...data });
  }

  /** A line of narration for people (stderr; nothing in JSON mode). */
  info(text: string): void {
    if (this.json) return;
    this.#stopBar();
    this.#stderr.write(`${text}\n`);
  }

  /** The command's result: one JSON line, or the human text on stdout. */
  result(data: Record<string, unknown>, text: string): void {
    this.#stopBar();
    this.#resulted = true;
    if (this.json) this.#line({ type: 'result', command: this.command, ...data });
    else if (text !== '') this.#stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  }

  /** The command's failure: one line, no stack trace unless it is a bug. */
  error(err: unknown): void {
    this.#stopBar();
    const known = err instanceof ArozError;
    const code = known ? err.code : 'ERR_INTERNAL';
    const message = oneLine(err instanceof Error ? err.message : String(err));
    if (this.json) {
      // A batch with failed files printed its result (which lists them): that stays the final line.
      if (!this.#resulted) this.#line({ type: 'error', code, message });
      return;
    }
    this.#stderr.write(`arozdfs: ${message} (${code})\n`);
    if (!known && err instanceof Error && err.stack) {
      this.#stderr.write(`This is a bug in arozdfs; please report it with this trace:\n${err.stack}\n`);
    }
  }

  #line(value: Record<string, unknown>): void {
    this.#stdout.write(`${JSON.stringify(value)}\n`);
  }

  #stopBar(): void {
    this.#bar?.stop();
    this.#bar = undefined;
  }
}

function mib(bytes: number): number {
  return Math.round((bytes / 1048576) * 10) / 10;
}

/** Collapses a message to one line (a message is one line by contract; this is the last guard). */
export function oneLine(text: string): string {
  return text.replace(/\s*[\r\n]+\s*/g, ' ').trim();
}

function batchPayload(event: ProgressEvent): Record<string, number> {
  return event.files === undefined ? {} : { filesDone: event.filesDone ?? 0, files: event.files };
}
