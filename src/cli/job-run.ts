/**
 * What `upload` and `download` (lone files and batches) share: the numeric options, submitting a job
 * and following it (or `--detach`), and node names for people.
 */
import { ArozError } from '../errors.ts';
import { NodeHome } from '../home/open.ts';
import { IDLE_BOUNDS } from '../ops/jobs.ts';
import { parseChunkSize } from '../size.ts';
import { assertUuid } from '../uuid.ts';
import type { CliContext } from './context.ts';
import { followJob, submitJob } from './jobs-client.ts';

export function wholeNumber(
  text: string | undefined,
  what: string,
  min: number,
  max = 999_999,
): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d{1,7}$/.test(text) || Number(text) < min || Number(text) > max) {
    throw new ArozError('ERR_USAGE', `${what} "${text}" is not a whole number from ${min} to ${max}`);
  }
  return Number(text);
}

/** `--idle-ms`: how long a silent node is waited for (the daemon's default is DEFAULT_IDLE_MS). */
export function idleOption(text: string | undefined): { idleMs?: number } {
  const ms = wholeNumber(text, 'The idle timeout (ms)', IDLE_BOUNDS.min, IDLE_BOUNDS.max);
  return ms === undefined ? {} : { idleMs: ms };
}

export async function run(
  ctx: CliContext,
  kind: 'upload' | 'download' | 'upload-batch' | 'download-batch',
  params: Record<string, unknown>,
  detach: boolean,
  extra: Record<string, unknown> = {},
) {
  const job = await submitJob(ctx, kind, params);
  if (detach) {
    ctx.out.result(
      { detached: true, job: job.id, state: job.state, ...extra },
      `Started job ${job.id}; follow it with "arozdfs jobs wait ${job.id}".`,
    );
    return undefined;
  }
  ctx.out.info(`Job ${job.id} (${kind}) is running in the daemon.`);
  return await followJob(ctx, job.id, { cancelOnInterrupt: true });
}

/** Node UUID → "name (uuid8)" for people, from this node's config and trust store. */
export async function nodeNames(ctx: CliContext): Promise<(uuid: string) => string> {
  const known = new Map<string, string>();
  try {
    const home = await NodeHome.open(ctx.home);
    known.set(home.config.nodeUuid, home.config.name);
    for (const peer of (await home.trustStore()).list()) known.set(peer.nodeUuid, peer.label);
  } catch (err) {
    if (!(err instanceof ArozError)) throw err;
  }
  return (uuid) => {
    const name = known.get(uuid);
    return name === undefined || name === '' ? uuid : `${name} (${uuid.slice(0, 8)})`;
  };
}

export interface UploadOptions {
  idleMs?: string;
  chunkSize?: string;
  shift?: string;
  copies?: string;
  ec?: string;
  encrypt?: boolean;
  readers?: string;
  nodes?: string;
  index?: string;
  force?: boolean;
  detach?: boolean;
}

export interface DownloadOptions {
  idleMs?: string;
  out?: string;
  force?: boolean;
  allowUntrustedIndex?: boolean;
  detach?: boolean;
}

/**
 * The options an upload shares with a batch of uploads, as job parameters: `--chunk-size`,
 * `--shift`, `--copies`, `--ec`, `--encrypt`, `--readers`, `--nodes` and `--idle-ms`.
 */
export function uploadParams(options: UploadOptions) {
  const uuids = (text: string, what: string) => text.split(',').map((u) => assertUuid(u.trim(), what));
  return {
    ...(options.chunkSize !== undefined ? { chunkSize: parseChunkSize(options.chunkSize) } : {}),
    ...(options.shift !== undefined ? { shift: wholeNumber(options.shift, 'The shift', 0) } : {}),
    ...(options.copies !== undefined
      ? { copies: wholeNumber(options.copies, 'The number of copies', 1) }
      : {}),
    ...(options.ec !== undefined ? { ec: options.ec } : {}),
    ...(options.encrypt === true ? { encrypt: true as const } : {}),
    ...(options.readers !== undefined ? { readers: uuids(options.readers, 'A node in --readers') } : {}),
    ...(options.nodes !== undefined ? { nodes: uuids(options.nodes, 'A node in --nodes') } : {}),
    ...idleOption(options.idleMs),
  };
}
