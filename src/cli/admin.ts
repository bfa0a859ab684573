/**
 * Changes to ADDC/ (trust and keys) from the CLI. While a daemon runs for the home it is the only
 * writer of ADDC/, so the change is sent over the control socket (the daemon hears it at once and,
 * for a revoked peer, closes its connections); with no daemon, the CLI writes the files itself.
 */
import { controlCall, daemonRunning } from '../control/client.ts';
import type { CliContext } from './context.ts';

export async function viaDaemonOr<T>(
  ctx: CliContext,
  call: { method: string; path: string; body?: unknown },
  local: () => Promise<T>,
): Promise<T> {
  if (!(await daemonRunning(ctx.home))) return local();
  return (await controlCall(ctx.home, call.method, call.path, call.body, {
    signal: ctx.signal,
    timeoutMs: 120_000,
  })) as T;
}
