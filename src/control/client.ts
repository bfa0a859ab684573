/**
 * The CLI's side of the control socket: is a daemon running for this home, and call it. Errors the
 * daemon answers come back as the same ArozError codes.
 */

import { connect } from 'node:net';
import { ArozError } from '../errors.ts';
import { decodeError } from '../errors-wire.ts';
import { controlSocketPath } from './paths.ts';

/**
 * node:http's request without its ES module namespace: building that namespace reads every export,
 * and its WebSocket getters load all of undici (~13 MiB and ~20 ms for each CLI command).
 */
const { request } = process.getBuiltinModule('node:http');

/** True when something answers on the socket path (a live daemon); false when absent or stale. */
export function isDaemonListening(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(path);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export async function daemonRunning(home: string): Promise<boolean> {
  return isDaemonListening(controlSocketPath(home));
}

export interface CallOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
  /** Called with each JSON line of a streaming answer. */
  onLine?: (line: Record<string, unknown>) => void;
}

/** Calls the daemon; resolves with its JSON answer (or the last line of a streamed one). */
export async function controlCall(
  home: string,
  method: string,
  path: string,
  body?: unknown,
  options: CallOptions = {},
): Promise<unknown> {
  const signals = [
    AbortSignal.timeout(options.timeoutMs ?? 30_000),
    ...(options.signal ? [options.signal] : []),
  ];
  const signal = AbortSignal.any(signals);
  const text = body === undefined ? '' : JSON.stringify(body);
  return await new Promise((resolve, reject) => {
    const req = request(
      {
        socketPath: controlSocketPath(home),
        method,
        path,
        signal,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) },
      },
      (res) => {
        let buffered = '';
        let last: unknown;
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          buffered += d;
          if (res.headers['content-type'] !== 'application/x-ndjson') return;
          let nl = buffered.indexOf('\n');
          while (nl >= 0) {
            const line = JSON.parse(buffered.slice(0, nl)) as Record<string, unknown>;
            buffered = buffered.slice(nl + 1);
            last = line;
            options.onLine?.(line);
            nl = buffered.indexOf('\n');
          }
        });
        res.on('end', () => {
          try {
            if (res.headers['content-type'] === 'application/x-ndjson') {
              const l = last as { type?: string } | undefined;
              if (l?.type === 'error') reject(wireError(l));
              else resolve(last);
              return;
            }
            const value = JSON.parse(buffered) as unknown;
            if ((res.statusCode ?? 500) >= 400) reject(wireError(value));
            else resolve(value);
          } catch (err) {
            reject(new ArozError('ERR_IO', 'The daemon answered something that is not JSON', { cause: err }));
          }
        });
        // A daemon that exits mid-answer (a streamed job wait) cuts the response short: no 'end'.
        res.on('close', () => {
          if (res.complete) return;
          if (signal.aborted)
            reject(new ArozError('ERR_TIMEOUT', `The daemon did not answer ${method} ${path} in time`));
          else
            reject(new ArozError('ERR_DAEMON_UNREACHABLE', `The daemon stopped answering ${method} ${path}`));
        });
      },
    );
    req.on('error', (err) => {
      if (signal.aborted)
        reject(new ArozError('ERR_TIMEOUT', `The daemon did not answer ${method} ${path} in time`));
      else
        reject(
          new ArozError(
            'ERR_DAEMON_UNREACHABLE',
            `No daemon answers for this home (is "arozdfs serve" running?): ${err.message}`,
            { cause: err },
          ),
        );
    });
    req.end(text);
  });
}

function wireError(body: unknown): ArozError {
  const { code, message } = decodeError(body);
  return new ArozError(code ?? 'ERR_IO', message ?? 'The daemon refused the request');
}
