/**
 * Where the control socket lives: `<home>/run/control.sock`, unless that path is over the 107 bytes
 * a Unix socket path may have; then `$XDG_RUNTIME_DIR/arozdfs-<hash of home>.sock`.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { ArozError } from '../errors.ts';
import { homePaths } from '../home/paths.ts';

export const MAX_SOCKET_PATH_BYTES = 107;

export function controlSocketPath(home: string, env: NodeJS.ProcessEnv = process.env): string {
  const inHome = join(homePaths(home).run, 'control.sock');
  if (Buffer.byteLength(inHome) <= MAX_SOCKET_PATH_BYTES) return inHome;
  const runtime = env['XDG_RUNTIME_DIR'];
  if (runtime !== undefined && runtime !== '') {
    const hash = createHash('sha256').update(home).digest('hex').slice(0, 16);
    const fallback = join(runtime, `arozdfs-${hash}.sock`);
    if (Buffer.byteLength(fallback) <= MAX_SOCKET_PATH_BYTES) return fallback;
  }
  throw new ArozError(
    'ERR_SOCKET_PATH',
    `The control socket path "${inHome}" is over ${MAX_SOCKET_PATH_BYTES} bytes and $XDG_RUNTIME_DIR gives no shorter one; use a shorter --home`,
  );
}
