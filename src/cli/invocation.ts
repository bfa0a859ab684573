/**
 * How a person runs this arozdfs again, for the hints the CLI prints ("run … keys show"):
 * - `arozdfs` when the first `arozdfs` on PATH (outside any node_modules/.bin, which npm adds only for
 *   the run) is this very installation, e.g. after a global install or a link;
 * - `npx arozdfs` when the current folder is inside this checkout (npx finds the project's own bin);
 * - else `node <path>/bin/arozdfs.js`, which works from anywhere;
 * - the single executable: `arozdfs` when PATH finds it, else its full path.
 */
import { accessSync, constants, realpathSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { singleExecutable } from '../runtime.ts';

export interface InvocationFacts {
  /** $PATH. */
  path: string | undefined;
  /** The current folder. */
  cwd: string;
  /** The checkout or package folder this CLI runs from. */
  root: string;
}

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function currentInvocation(): InvocationFacts {
  return { path: process.env['PATH'], cwd: process.cwd(), root: ROOT };
}

/** The command prefix to print in hints: `arozdfs`, `npx arozdfs` or `node …/bin/arozdfs.js`. */
export function cliCommand(facts: InvocationFacts = currentInvocation()): string {
  if (singleExecutable && facts.root === ROOT) {
    // The single executable: `arozdfs` when PATH finds this file, else its full path.
    const found = firstOnPath('arozdfs', facts.path);
    return found !== undefined && same(found, process.execPath) ? 'arozdfs' : shellWord(process.execPath);
  }
  const launcher = join(facts.root, 'bin', 'arozdfs.js');
  const found = firstOnPath('arozdfs', facts.path);
  if (found !== undefined && !found.split(sep).includes('node_modules') && same(found, launcher)) {
    return 'arozdfs';
  }
  if (inside(facts.cwd, facts.root)) return 'npx arozdfs';
  return `node ${shellWord(launcher)}`;
}

/** A command to print in a hint, e.g. `npx arozdfs --home /srv/node keys show` (no --home for ~/.arozdfs). */
export function hintCommand(home: string, command: string, facts?: InvocationFacts): string {
  const option = home === resolve(homedir(), '.arozdfs') ? '' : ` --home ${shellWord(home)}`;
  return `${cliCommand(facts)}${option} ${command}`;
}

/** A word as a POSIX shell reads it back (quoted only when needed). */
export function shellWord(text: string): string {
  return /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replaceAll("'", "'\\''")}'`;
}

function firstOnPath(name: string, path: string | undefined): string | undefined {
  for (const dir of (path ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
    } catch {
      continue; // not there, or not executable
    }
    return candidate;
  }
  return undefined;
}

function same(a: string, b: string): boolean {
  try {
    return realpathSync(a) === realpathSync(b);
  } catch {
    return false;
  }
}

function inside(dir: string, root: string): boolean {
  const real = (p: string) => {
    try {
      return realpathSync(p);
    } catch {
      return p;
    }
  };
  const rel = relative(real(root), real(dir));
  return rel === '' || (!rel.startsWith('..') && !rel.startsWith(sep));
}
