/** Runs the real CLI as a separate process on the pinned Node. */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON lines (throws if any line is not JSON). */
  lines(): Array<Record<string, unknown>>;
}

export interface CliOptions {
  home?: string;
  input?: string | Buffer;
  env?: Record<string, string>;
  cwd?: string;
  timeoutMs?: number;
  /** Run as this user and group (needs root). */
  uid?: number;
  gid?: number;
}

export function runCli(args: string[], options: CliOptions = {}): Promise<CliRun> {
  const full = options.home === undefined ? args : ['--home', options.home, ...args];
  return runProcess(process.execPath, [CLI, ...full], options);
}

/** Runs any command (a wrapper around the CLI, say) and collects what it printed. */
export function runProcess(
  command: string,
  args: string[],
  options: Omit<CliOptions, 'home'> = {},
): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: options.timeoutMs ?? 60_000,
      ...(options.uid !== undefined ? { uid: options.uid } : {}),
      ...(options.gid !== undefined ? { gid: options.gid } : {}),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      resolve({
        code,
        signal,
        stdout,
        stderr,
        lines: () =>
          stdout
            .split('\n')
            .filter((l) => l !== '')
            .map((l) => JSON.parse(l) as Record<string, unknown>),
      });
    });
    // A child that exits without reading its input (openssl s_client refused at the handshake, say)
    // makes this write fail with EPIPE: what it printed and its exit code are what the test checks.
    child.stdin.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE') reject(err);
    });
    child.stdin.end(options.input ?? '');
  });
}
