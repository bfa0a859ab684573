/**
 * The job registry: every kind of background job, with the parser of its parameters and the type of
 * its result. Parameters arrive from the CLI over the control socket or from the web UI, are kept as
 * JSON in the job record, and are parsed again by `parse` each time the job runs (a resumed job too):
 * paths absolute, counts whole numbers, `idleMs` within IDLE_BOUNDS. A new kind of job is one entry
 * here and one runner in the daemon (src/node/transfers.ts); the control socket and the web UI take
 * the kinds from here.
 */
import { ArozError } from '../errors.ts';
import { filePathProblem, type IndexFile } from '../index-file/index.ts';
import { parseEc } from '../transfer/redundancy.ts';
import type { NodeAnswer } from '../transfer/types.ts';
import { isUuid } from '../uuid.ts';

/** Bounds of the `idleMs` job parameter: the no-progress timeout for every node a job talks to. */
export const IDLE_BOUNDS = { min: 100, max: 3_600_000 } as const;

/** How an upload stores its chunks: the same for one file and for every file of a batch. */
export interface StoreOptions {
  chunkSize?: number;
  shift?: number;
  copies?: number;
  /** Erasure coding "K+M" instead of copies (docs/transfer.md "Erasure coding"). */
  ec?: string;
  /** Seal every chunk before it leaves (docs/encryption.md); each file gets its own key. */
  encrypt?: boolean;
  /** With `encrypt`: the reader nodes (default: every trusted node); the uploader always reads. */
  readers?: string[];
  /** The cluster list as asked (checked against the trust store when the job runs). */
  nodes?: unknown[];
  /** No-progress timeout per node, in ms (default 30 s). */
  idleMs?: number;
}

export interface UploadParams extends StoreOptions {
  file: string;
  /** Where to write a copy of the index (the daemon always keeps one in <home>/indexes/). */
  index?: string;
  force: boolean;
  /** The file is a web UI upload staged in <home>/uploads/ (deleted when the job ends). */
  staged?: boolean;
}

export interface UploadResult {
  index: string;
  kept: string;
  id: string;
  file: IndexFile['file'];
  chunks: number;
  copies: number;
  cluster: string[];
  placement: Array<{ i: number; uuid: string; holders: string[] }>;
}

export interface DownloadParams {
  /** An index file (absolute path); or else `file`. */
  index?: string;
  /** A file id of the catalog (`download NAME|ID`): its newest index is used. */
  file?: string;
  out: string;
  force: boolean;
  allowUntrusted: boolean;
  /** No-progress timeout per node, in ms (default 30 s). */
  idleMs?: number;
}

export interface DownloadResult {
  out: string;
  size: number;
  sha256: string;
  chunks: number;
  fetched: number;
  signer: string | null;
  problems: NodeAnswer[];
}

export interface RepairParams {
  /** Only this file id (`repair NAME|ID`); else every file of the catalog. */
  file?: string;
  /** Count nodes unreachable now as gone without waiting for the delay (`--now`). */
  now: boolean;
}

/** What one repair pass did (docs/repair.md). */
export interface RepairResult {
  /** Files looked at. */
  files: number;
  /** Chunks this node holds a good copy of, whose copies it counted. */
  chunks: number;
  /** Of those, chunks this node repaired (it was their repairer and they had too few copies). */
  underReplicated: number;
  /** Of those, chunks still short of copies after the pass (no node could take one). */
  stillShort: number;
  /** New copies made (each a copy task that another node ran). */
  copies: number;
  /** Extra copies of this node moved to its trash (a node came back after its copies were replaced). */
  collected: number;
  /** Copies on this node no live file references, moved to its trash (docs/repair.md "Orphans"). */
  orphans: number;
  /** Unreferenced copies of an uploader a person removed: kept for a person to purge. */
  orphansKept: number;
  /** Chunk bytes the new holders fetched from the good holders. */
  bytes: number;
  /** Copies that failed (the node refused or could not fetch), with the code. */
  failures: Array<{ chunk: string; node: string; code: string; message: string }>;
  /** Trusted peers counted as gone in this pass. */
  gone: string[];
}

function absolute(value: unknown, what: string): string {
  if (typeof value !== 'string' || !value.startsWith('/')) {
    throw new ArozError('ERR_BAD_REQUEST', `${what} must be an absolute path`);
  }
  return value;
}

function optionalInt(value: unknown, what: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value))
    throw new ArozError('ERR_BAD_REQUEST', `${what} must be a whole number`);
  return value;
}

function idleParam(value: unknown): number | undefined {
  const ms = optionalInt(value, 'The idle timeout');
  if (ms !== undefined && (ms < IDLE_BOUNDS.min || ms > IDLE_BOUNDS.max)) {
    throw new ArozError(
      'ERR_BAD_REQUEST',
      `The idle timeout ${ms} ms is not between ${IDLE_BOUNDS.min} and ${IDLE_BOUNDS.max} ms`,
    );
  }
  return ms;
}

/** Only the fields that are set: `exactOptionalPropertyTypes` keeps absent apart from undefined. */
function defined<T extends object>(value: { [K in keyof T]: T[K] | undefined }): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

function parseUpload(raw: Record<string, unknown>): UploadParams {
  const nodes = raw['nodes'];
  if (nodes !== undefined && !Array.isArray(nodes)) {
    throw new ArozError('ERR_BAD_REQUEST', 'The nodes must be a list of node UUIDs');
  }
  return defined<UploadParams>({
    file: absolute(raw['file'], 'The file'),
    index: raw['index'] === undefined ? undefined : absolute(raw['index'], 'The index path'),
    force: raw['force'] === true,
    chunkSize: optionalInt(raw['chunkSize'], 'The chunk size'),
    shift: optionalInt(raw['shift'], 'The shift'),
    copies: optionalInt(raw['copies'], 'The number of copies'),
    ec: ecParam(raw),
    encrypt: raw['encrypt'] === true ? true : undefined,
    readers: readersParam(raw),
    idleMs: idleParam(raw['idleMs']),
    nodes: nodes as unknown[] | undefined,
    staged: raw['staged'] === true ? true : undefined,
  });
}

/** `readers`: node UUIDs, only with `encrypt`. */
function readersParam(raw: Record<string, unknown>): string[] | undefined {
  const readers = raw['readers'];
  if (readers === undefined) return undefined;
  if (raw['encrypt'] !== true)
    throw new ArozError('ERR_USAGE', 'Readers (--readers) are for an encrypted upload (--encrypt)');
  if (!Array.isArray(readers) || readers.length > 1024 || !readers.every((r) => isUuid(r))) {
    throw new ArozError('ERR_BAD_REQUEST', 'The readers must be a list of node UUIDs');
  }
  return [...new Set(readers as string[])];
}

/** `ec` "K+M" (checked by parseEc), never together with `copies`. */
function ecParam(raw: Record<string, unknown>): string | undefined {
  const ec = raw['ec'];
  if (ec === undefined) return undefined;
  if (typeof ec !== 'string') throw new ArozError('ERR_BAD_REQUEST', 'The erasure coding must be "K+M"');
  if (raw['copies'] !== undefined) {
    throw new ArozError(
      'ERR_USAGE',
      'An upload stores copies or erasure-coded shards, not both (--copies, --ec)',
    );
  }
  parseEc(ec);
  return ec;
}

function parseDownload(raw: Record<string, unknown>): DownloadParams {
  const file = raw['file'];
  if (file !== undefined && !isUuid(file))
    throw new ArozError('ERR_BAD_REQUEST', 'The file must be a file id');
  if ((raw['index'] === undefined) === (file === undefined))
    throw new ArozError('ERR_BAD_REQUEST', 'A download names an "index" path or a catalog "file" id');
  return defined<DownloadParams>({
    index: raw['index'] === undefined ? undefined : absolute(raw['index'], 'The index path'),
    file: file as string | undefined,
    out: absolute(raw['out'], 'The output path'),
    force: raw['force'] === true,
    allowUntrusted: raw['allowUntrusted'] === true,
    idleMs: idleParam(raw['idleMs']),
  });
}

/** Most files one batch job takes (its parameters are kept in its record). */
export const MAX_BATCH_FILES = 100_000;

/** One file of an `upload-batch` job: where it is, and its name in the catalog. */
export interface BatchUploadEntry {
  path: string;
  name: string;
}

export interface UploadBatchParams extends StoreOptions {
  files: BatchUploadEntry[];
}

/** What became of one file of a batch: stored (or downloaded), else failed with the code. */
export interface BatchFileResult {
  name: string;
  /** The local file: read (upload) or written (download). */
  path: string;
  state: 'stored' | 'downloaded' | 'failed';
  id?: string;
  size?: number;
  sha256?: string;
  chunks?: number;
  error?: { code: string; message: string };
}

export interface UploadBatchResult {
  files: BatchFileResult[];
  stored: number;
  failed: number;
  /** Bytes of the stored files. */
  bytes: number;
  copies: number;
  cluster: string[];
}

/** One file of a `download-batch` job: a file id of the catalog and where it goes. */
export interface BatchDownloadEntry {
  file: string;
  out: string;
}

export interface DownloadBatchParams {
  files: BatchDownloadEntry[];
  force: boolean;
  allowUntrusted: boolean;
  idleMs?: number;
}

export interface DownloadBatchResult {
  files: BatchFileResult[];
  downloaded: number;
  failed: number;
  bytes: number;
}

function batchList(raw: unknown): Record<string, unknown>[] {
  if (!Array.isArray(raw) || raw.length === 0 || raw.length > MAX_BATCH_FILES) {
    throw new ArozError('ERR_BAD_REQUEST', `The files must be a list of 1 to ${MAX_BATCH_FILES} entries`);
  }
  return raw.map((entry) => {
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry))
      throw new ArozError('ERR_BAD_REQUEST', 'Each file of a batch must be an object');
    return entry as Record<string, unknown>;
  });
}

function parseUploadBatch(raw: Record<string, unknown>): UploadBatchParams {
  const nodes = raw['nodes'];
  if (nodes !== undefined && !Array.isArray(nodes)) {
    throw new ArozError('ERR_BAD_REQUEST', 'The nodes must be a list of node UUIDs');
  }
  const names = new Set<string>();
  const files = batchList(raw['files']).map((entry) => {
    const name = entry['name'];
    const problem = filePathProblem(name);
    if (problem !== undefined) throw new ArozError('ERR_BAD_REQUEST', `A file name of the batch ${problem}`);
    if (names.has(name as string))
      throw new ArozError('ERR_BAD_REQUEST', `The batch names "${String(name)}" twice`);
    names.add(name as string);
    return { path: absolute(entry['path'], 'A file of the batch'), name: name as string };
  });
  return defined<UploadBatchParams>({
    files,
    chunkSize: optionalInt(raw['chunkSize'], 'The chunk size'),
    shift: optionalInt(raw['shift'], 'The shift'),
    copies: optionalInt(raw['copies'], 'The number of copies'),
    ec: ecParam(raw),
    encrypt: raw['encrypt'] === true ? true : undefined,
    readers: readersParam(raw),
    idleMs: idleParam(raw['idleMs']),
    nodes: nodes as unknown[] | undefined,
  });
}

function parseDownloadBatch(raw: Record<string, unknown>): DownloadBatchParams {
  const outs = new Set<string>();
  const files = batchList(raw['files']).map((entry) => {
    if (!isUuid(entry['file']))
      throw new ArozError('ERR_BAD_REQUEST', 'Each file of the batch must be a file id');
    const out = absolute(entry['out'], 'An output path of the batch');
    if (outs.has(out)) throw new ArozError('ERR_BAD_REQUEST', `The batch writes "${out}" twice`);
    outs.add(out);
    return { file: entry['file'], out };
  });
  return defined<DownloadBatchParams>({
    files,
    force: raw['force'] === true,
    allowUntrusted: raw['allowUntrusted'] === true,
    idleMs: idleParam(raw['idleMs']),
  });
}

function parseRepair(raw: Record<string, unknown>): RepairParams {
  const file = raw['file'];
  if (file !== undefined && !isUuid(file))
    throw new ArozError('ERR_BAD_REQUEST', 'The file must be a file id');
  return defined<RepairParams>({ file: file as string | undefined, now: raw['now'] === true });
}

/** Every kind of job: how its parameters are parsed. Results are typed by JobResults. */
export const JOB_KINDS = {
  upload: { parse: parseUpload },
  download: { parse: parseDownload },
  repair: { parse: parseRepair },
  'upload-batch': { parse: parseUploadBatch },
  'download-batch': { parse: parseDownloadBatch },
} as const;

export type JobKind = keyof typeof JOB_KINDS;
export type JobParams = { [K in JobKind]: ReturnType<(typeof JOB_KINDS)[K]['parse']> };
export interface JobResults {
  upload: UploadResult;
  download: DownloadResult;
  repair: RepairResult;
  'upload-batch': UploadBatchResult;
  'download-batch': DownloadBatchResult;
}

export function isJobKind(kind: unknown): kind is JobKind {
  return typeof kind === 'string' && Object.hasOwn(JOB_KINDS, kind);
}

/** The kinds as a sentence: "upload, download or repair". */
export const JOB_KIND_LIST = Object.keys(JOB_KINDS)
  .join(', ')
  .replace(/, ([^,]*)$/, ' or $1');

/** The result of a finished job of `kind`, as its runner typed it (the record keeps it as JSON). */
export function jobResult<K extends JobKind>(
  _kind: K,
  record: { result?: Record<string, unknown> },
): Partial<JobResults[K]> {
  return (record.result ?? {}) as Partial<JobResults[K]>;
}

/** How many names a list's summary of a batch's files shows. */
export const LISTED_FILE_NAMES = 3;

/** A batch's list of files as a job list shows it: how many, and the first few names. */
export interface BatchFilesSummary {
  count: number;
  first: string[];
}

function filesSummary(files: unknown): BatchFilesSummary | unknown {
  if (!Array.isArray(files)) return files;
  const first = files.slice(0, LISTED_FILE_NAMES).map((f: unknown) => {
    const entry = (typeof f === 'object' && f !== null ? f : {}) as Record<string, unknown>;
    const name = entry['name'] ?? entry['out'] ?? entry['file'];
    return typeof name === 'string' ? name : '';
  });
  return { count: files.length, first };
}

/**
 * A job's record as lists show it (`jobs list`, `GET /v1/jobs`, the web UI's jobs): a batch's
 * `params.files` and `result.files` (one entry per file, up to MAX_BATCH_FILES) become a summary,
 * so a list polled during a batch of thousands of files stays small. `jobs show` has them whole.
 */
export function listedJob<
  R extends { kind: string; params: Record<string, unknown>; result?: Record<string, unknown> },
>(record: R): R {
  if (record.kind !== 'upload-batch' && record.kind !== 'download-batch') return record;
  return {
    ...record,
    params: { ...record.params, files: filesSummary(record.params['files']) },
    ...(record.result !== undefined
      ? { result: { ...record.result, files: filesSummary(record.result['files']) } }
      : {}),
  };
}
