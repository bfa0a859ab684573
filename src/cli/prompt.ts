/**
 * Asking a person: questions go to stderr, answers come from stdin, and only when both are a
 * terminal (`ctx.interactive`). Without a terminal a confirmation needs `--yes`; otherwise
 * ERR_NOT_CONFIRMED and nothing is changed. Also reads pasted text (`peers add -`) with a size cap.
 * One `Prompts` per command keeps one line reader, so answers typed ahead are not lost between
 * questions; dispose it (`using`) when the command ends.
 */
import { createInterface, type Interface } from 'node:readline';
import { ArozError } from '../errors.ts';

/** What prompting needs from the CLI context (tests pass streams of their own). */
export interface PromptContext {
  interactive: boolean;
  stdin: NodeJS.ReadableStream;
  signal: AbortSignal;
  /** Where questions are written (default: process.stderr). */
  prompts?: NodeJS.WritableStream;
}

export interface ConfirmOptions {
  /** `--yes` was given: no question. */
  yes: boolean;
  /** The question, which may span several lines (the last one is the prompt). */
  question: string;
  /** The exact answer that confirms (whitespace in the answer is ignored). */
  expected: string;
  /** What is being confirmed, for the error ("Trusting node …"). */
  what: string;
}

export class Prompts {
  #ctx: PromptContext;
  #rl: Interface | undefined;
  /** Lines typed so far and not yet used (an async iterator buffers them; `question()` would drop them). */
  #lines: AsyncIterator<string> | undefined;

  constructor(ctx: PromptContext) {
    this.#ctx = ctx;
  }

  /** Writes `question` and returns the next line, or undefined at the end of the input. */
  async #ask(question: string): Promise<string | undefined> {
    const signal = this.#ctx.signal;
    signal.throwIfAborted();
    if (this.#lines === undefined) {
      this.#rl = createInterface({ input: this.#ctx.stdin, terminal: false });
      this.#lines = this.#rl[Symbol.asyncIterator]();
    }
    (this.#ctx.prompts ?? process.stderr).write(question);
    const lines = this.#lines;
    const next = await new Promise<IteratorResult<string>>((resolve, reject) => {
      const onAbort = () => reject(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
      lines.next().then(
        (result) => {
          signal.removeEventListener('abort', onAbort);
          resolve(result);
        },
        (err: unknown) => {
          signal.removeEventListener('abort', onAbort);
          reject(err);
        },
      );
    });
    return next.done === true ? undefined : next.value;
  }

  /** Asks for a typed confirmation; throws ERR_NOT_CONFIRMED unless the answer is `expected`. */
  async confirm(options: ConfirmOptions): Promise<void> {
    if (options.yes) return;
    if (!this.#ctx.interactive) {
      throw new ArozError(
        'ERR_NOT_CONFIRMED',
        `${options.what} needs a confirmation and there is no terminal to ask on; pass --yes to confirm it; nothing was changed`,
      );
    }
    const answer = (await this.#ask(options.question)) ?? '';
    if (answer.replace(/\s+/g, '') !== options.expected) {
      throw new ArozError('ERR_NOT_CONFIRMED', `${options.what} was not confirmed; nothing was changed`);
    }
  }

  /**
   * Reads what a person pastes on stdin, at most `maxBytes`. From a pipe: everything to the end. From
   * a terminal: lines until an empty line (or a PEM "-----END" line), so a question can follow.
   */
  async readPasted(intro: string, maxBytes: number): Promise<Buffer> {
    const tooLarge = () =>
      new ArozError(
        'ERR_PAIRING_INVALID',
        `The pasted text is over ${maxBytes} bytes; paste one pairing string or key`,
      );
    if (!this.#ctx.interactive) {
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of this.#ctx.stdin) {
        const piece = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
        size += piece.length;
        if (size > maxBytes) throw tooLarge();
        chunks.push(piece);
      }
      return Buffer.concat(chunks);
    }
    const lines: string[] = [];
    let size = 0;
    for (let prompt = intro; ; prompt = '') {
      const line = await this.#ask(prompt);
      if (line === undefined) break;
      size += Buffer.byteLength(line) + 1;
      if (size > maxBytes) throw tooLarge();
      if (line.trim() === '' && lines.length > 0) break;
      lines.push(line);
      if (line.includes('-----END')) break;
    }
    return Buffer.from(lines.join('\n'));
  }

  [Symbol.dispose](): void {
    this.#rl?.close();
    this.#rl = undefined;
    this.#lines = undefined;
  }
}
