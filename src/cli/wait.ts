/**
 * `arozdfs wait [--timeout SECONDS]`: returns once the local daemon of this home has started (its
 * control socket answers and says every service listens), so a script can start `serve` in the
 * background and go on without guessing how long a start takes. ERR_TIMEOUT when none did in time.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { controlCall } from '../control/client.ts';
import { ArozError } from '../errors.ts';
import type { Register } from './context.ts';

export const DEFAULT_WAIT_SECONDS = 30;
const MAX_WAIT_SECONDS = 24 * 3600;
/** How often the control socket is asked again while no daemon answers. */
const POLL_MS = 100;

interface Status {
  uuid: string;
  name: string;
  listen: string | null;
  ready?: boolean;
}

/** Parses `--timeout`: seconds, a whole or decimal number from 0 (ask once) to a day. */
function parseWaitSeconds(text: string): number {
  const seconds = Number(text);
  if (!/^\d{1,6}(\.\d{1,3})?$/.test(text) || seconds > MAX_WAIT_SECONDS) {
    throw new ArozError(
      'ERR_USAGE',
      `--timeout must be a number of seconds from 0 to ${MAX_WAIT_SECONDS}, not ${JSON.stringify(text)}`,
    );
  }
  return seconds;
}

export const register: Register = (program, action) => {
  program
    .command('wait')
    .description("wait until this home's daemon (serve, npm start) has started and answers")
    .option('--timeout <seconds>', 'give up after this long (ERR_TIMEOUT)', String(DEFAULT_WAIT_SECONDS))
    .action(
      action<[], { timeout: string }>(async (ctx, _args, options) => {
        const seconds = parseWaitSeconds(options.timeout);
        const deadline = performance.now() + seconds * 1000;
        for (;;) {
          const left = deadline - performance.now();
          try {
            const status = (await controlCall(ctx.home, 'GET', '/v1/status', undefined, {
              signal: ctx.signal,
              timeoutMs: Math.ceil(Math.max(1, Math.min(5_000, left))),
            })) as Status;
            if (status.ready !== false) {
              ctx.out.result(
                { nodeUuid: status.uuid, name: status.name, listen: status.listen },
                `Node "${status.name}" (${status.uuid}) is running; cluster port ${status.listen}.`,
              );
              return;
            }
          } catch (err) {
            if (ctx.signal.aborted) throw ctx.signal.reason;
            // No daemon yet (no socket, or one left by a daemon that died): ask again until the deadline.
            if (!(err instanceof ArozError)) throw err;
            if (err.code !== 'ERR_DAEMON_UNREACHABLE' && err.code !== 'ERR_TIMEOUT') throw err;
          }
          if (performance.now() + POLL_MS > deadline) {
            throw new ArozError(
              'ERR_TIMEOUT',
              `No daemon of the home "${ctx.home}" answered within ${seconds} s (is "arozdfs serve" running? its output says why it stopped)`,
            );
          }
          await delay(POLL_MS, undefined, { signal: ctx.signal }).catch(() => {
            throw ctx.signal.reason;
          });
        }
      }),
    );
};
