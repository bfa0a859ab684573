/**
 * The real CLI run under a wrapper: on a read-only bind mount of a folder (a mount namespace made by
 * `unshare -m`; needs root), or on a terminal (`script` gives it a pseudo-terminal, so the CLI asks
 * its questions). Output and exit code come back like runCli's; on a terminal stdout and stderr are
 * one stream.
 */
import { execFileSync } from 'node:child_process';
import { CLI, type CliRun, runProcess } from './cli.ts';

function works(command: string, args: string[]): boolean {
  try {
    execFileSync(command, args, { stdio: 'ignore', timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

/** Why read-only tests cannot run here, or undefined when they can. */
export const readOnlyUnavailable = works('unshare', ['-m', 'true'])
  ? undefined
  : 'needs "unshare -m" (mount namespaces, root) to make a read-only bind mount';

/** Why terminal tests cannot run here, or undefined when they can. */
export const ttyUnavailable = works('script', ['-qec', 'true', '/dev/null'])
  ? undefined
  : 'needs "script" (util-linux) to give the CLI a terminal';

function run(command: string, args: string[], input: string): Promise<CliRun> {
  return runProcess(command, args, { input });
}

/** Runs the CLI while `dir` is mounted read-only (only for this process). */
export function runCliReadOnly(dir: string, args: string[], input = ''): Promise<CliRun> {
  const script = 'mount --bind "$1" "$1" && mount -o remount,ro,bind "$1" "$1" && shift && exec "$@"';
  return run('unshare', ['-m', 'sh', '-c', script, 'sh', dir, process.execPath, CLI, ...args], input);
}

const quote = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;

/** Runs the CLI on a pseudo-terminal; `input` is what the person types (lines). */
export function runCliOnTerminal(args: string[], input: string): Promise<CliRun> {
  const command = [process.execPath, CLI, ...args].map(quote).join(' ');
  return run('script', ['-qec', command, '/dev/null'], input);
}
