/**
 * What every command gets: where the home is, how to report, the abort signal of the process, and
 * whether a person is there to answer questions. Built once per run by src/cli.ts.
 */

import { homedir } from 'node:os';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { Output } from './output.ts';

export interface CliContext {
  /** Absolute path of the node home (`--home`, else `$AROZDFS_HOME`, else `~/.arozdfs`). */
  home: string;
  json: boolean;
  out: Output;
  /** Aborted on SIGINT/SIGTERM; long work must stop and clean up. */
  signal: AbortSignal;
  /** True when stdin and stderr are terminals, so the CLI may ask questions. */
  interactive: boolean;
  stdin: NodeJS.ReadableStream;
}

export interface GlobalOptions {
  home?: string;
  json?: boolean;
}

export function makeContext(globals: GlobalOptions, signal: AbortSignal, command = ''): CliContext {
  const json = globals.json === true;
  return {
    home: resolve(globals.home ?? process.env['AROZDFS_HOME'] ?? resolve(homedir(), '.arozdfs')),
    json,
    out: new Output(json, command),
    signal,
    interactive: process.stdin.isTTY === true && process.stderr.isTTY === true,
    stdin: process.stdin,
  };
}

/** The handler of one command: gets the context, the positional arguments and the options. */
export type Handler<A extends unknown[] = string[], O = Record<string, unknown>> = (
  ctx: CliContext,
  args: A,
  options: O,
) => Promise<void>;

/** Builds the action commander calls, turning its arguments into (ctx, args, options). */
export type ActionFactory = <A extends unknown[], O>(
  handler: Handler<A, O>,
) => (...raw: unknown[]) => Promise<void>;

/** Each file in src/cli/ exports a `register` of this type. */
export type Register = (program: Command, action: ActionFactory) => void;

export function commandOf(raw: unknown[]): Command {
  return raw.at(-1) as Command;
}

/** `"peers add"` for the `add` subcommand of `peers`. */
export function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c?.parent; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}
