/** Background jobs: the record every job has, persisted in `<home>/jobs/<id>.json`. */

export type JobState = 'queued' | 'running' | 'done' | 'failed' | 'cancelled';
/** The kinds are those of the job registry (src/ops/jobs.ts); this folder runs any kind it is given. */
export type JobKind = string;

export interface JobProgress {
  phase: string;
  done: number;
  total: number;
  chunksDone?: number;
  chunks?: number;
  /** Batch jobs: files finished (stored or failed) and in the batch; `done`/`total` count bytes. */
  filesDone?: number;
  files?: number;
}

export interface JobRecord {
  id: string;
  kind: JobKind;
  state: JobState;
  /** What was asked (absolute paths, options): enough to run or resume the job. */
  params: Record<string, unknown>;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  /** How many times the job was (re)started, e.g. after a daemon restart. */
  runs: number;
  progress?: JobProgress;
  result?: Record<string, unknown>;
  error?: { code: string; message: string };
}

export interface JobContext {
  signal: AbortSignal;
  onProgress: (progress: JobProgress) => void;
  /** A folder of this job's own (its journal), kept across restarts until the job ends. */
  workDir: string;
  /** True when this run resumes an interrupted one. */
  resumed: boolean;
}

/** Runs one kind of job; resolves with its result (kept in the record). */
export type JobRunner = (params: Record<string, unknown>, ctx: JobContext) => Promise<object>;

/** Terminal states never change again. */
export function isFinished(state: JobState): boolean {
  return state === 'done' || state === 'failed' || state === 'cancelled';
}
