/**
 * How this arozdfs runs: as sources (or the package's emitted JavaScript) under Node, or as one
 * executable file (a Node single-executable application, docs/install.md) whose web UI files are
 * embedded assets and whose CLI is the executable itself. Nothing here prints.
 */
import { readFile } from 'node:fs/promises';
import { getAsset, isSea } from 'node:sea';

/** True inside the single executable built by `npm run build:exe`. */
export const singleExecutable: boolean = isSea();

/**
 * The command that runs this CLI again as a child process: the executable itself, else this Node
 * with the CLI script. Node options go on the command line, or into NODE_OPTIONS for the executable
 * (which passes every argument to the CLI).
 */
export function selfCommand(
  cliScript: string,
  nodeOptions: readonly string[] = [],
): { file: string; args: string[]; env: Record<string, string> } {
  if (!singleExecutable) return { file: process.execPath, args: [...nodeOptions, cliScript], env: {} };
  const env: Record<string, string> =
    nodeOptions.length === 0
      ? {}
      : { NODE_OPTIONS: [process.env['NODE_OPTIONS'] ?? '', ...nodeOptions].join(' ').trim() };
  return { file: process.execPath, args: [], env };
}

/**
 * A file shipped with arozdfs (e.g. a web UI asset): the embedded asset `key` in the executable,
 * else the file at `path`.
 */
export async function readShippedFile(key: string, path: string): Promise<Buffer> {
  if (singleExecutable) return Buffer.from(getAsset(key));
  return readFile(path);
}

/** What `--version` prints: the version, and in the executable the Node and platform inside it. */
export function versionLine(version: string): string {
  if (!singleExecutable) return version;
  return `${version} (single executable: Node ${process.versions.node}, ${process.platform}-${process.arch})`;
}
