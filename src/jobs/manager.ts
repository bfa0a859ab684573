/**
 * The job manager: jobs run in the daemon, one or a few at a time, never blocking it. Each job's
 * record is written atomically on every change of state, so after a crash or restart the daemon
 * finds interrupted jobs and runs them again (their runners resume from their journals). Progress
 * is kept in memory and streamed to whoever waits.
 */
import { EventEmitter } from 'node:events';
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { debuglog } from 'node:util';
import { writeFileAtomic } from '../durable/index.ts';
import { ArozError, fromSystemError, isProgrammingError } from '../errors.ts';
import { assertUuid, isUuid, newUuid } from '../uuid.ts';
import { isFinished, type JobKind, type JobProgress, type JobRecord, type JobRunner } from './types.ts';

const debug = debuglog('arozdfs');

export interface JobManagerOptions {
  dir: string;
  runners: Partial<Record<JobKind, JobRunner>>;
  /** Jobs running at once (default 1: transfers already use the disks and network fully). */
  concurrency?: number;
}

export class JobManager extends EventEmitter<{ change: [JobRecord] }> {
  #dir: string;
  #runners: Partial<Record<JobKind, JobRunner>>;
  #concurrency: number;
  #jobs = new Map<string, JobRecord>();
  #running = new Map<string, { controller: AbortController; done: Promise<void> }>();
  #closed = false;

  constructor(options: JobManagerOptions) {
    super();
    this.#dir = options.dir;
    this.#runners = options.runners;
    this.#concurrency = options.concurrency ?? 1;
  }

  /** Loads the records on disk; jobs that were queued or running are queued again. */
  async start(): Promise<void> {
    await mkdir(this.#dir, { recursive: true, mode: 0o700 }).catch((err: unknown) => {
      throw fromSystemError(err, `Cannot create the jobs folder "${this.#dir}"`);
    });
    for (const name of await readdir(this.#dir)) {
      const id = name.slice(0, -'.json'.length);
      if (!name.endsWith('.json') || !isUuid(id)) continue;
      try {
        const record = JSON.parse(await readFile(join(this.#dir, name), 'utf8')) as JobRecord;
        if (record.id !== id) continue;
        if (record.state === 'running') record.state = 'queued';
        this.#jobs.set(id, record);
      } catch (err) {
        if (isProgrammingError(err) && !(err instanceof SyntaxError)) throw err;
        debug('jobs: skipping unreadable record %s', name);
      }
    }
    this.#pump();
  }

  /** Queues a job; resolves once its record is on disk. */
  async submit(kind: JobKind, params: Record<string, unknown>): Promise<JobRecord> {
    if (this.#closed) throw new ArozError('ERR_INTERRUPTED', 'The daemon is shutting down');
    if (this.#runners[kind] === undefined)
      throw new ArozError('ERR_NOT_IMPLEMENTED', `No runner for "${kind}" jobs`);
    const record: JobRecord = { id: newUuid(), kind, state: 'queued', params, createdAt: now(), runs: 0 };
    await this.#save(record);
    this.#jobs.set(record.id, record);
    this.emit('change', record);
    this.#pump();
    return record;
  }

  list(): JobRecord[] {
    return [...this.#jobs.values()].sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  get(id: string): JobRecord {
    const record = this.#jobs.get(assertUuid(id, 'The job id'));
    if (record === undefined) throw new ArozError('ERR_JOB_NOT_FOUND', `No job has the id "${id}"`);
    return record;
  }

  /** Cancels a queued or running job (idempotent for finished ones). */
  async cancel(id: string): Promise<JobRecord> {
    const record = this.get(id);
    if (isFinished(record.state)) return record;
    const running = this.#running.get(id);
    if (running !== undefined) {
      running.controller.abort(new ArozError('ERR_INTERRUPTED', `Job "${id}" was cancelled`));
      await running.done;
    } else {
      await this.#finish(record, 'cancelled', {});
    }
    return record;
  }

  /** Resolves with the record once the job has finished, calling `onChange` on every change. */
  wait(
    id: string,
    options: { signal?: AbortSignal; onChange?: (r: JobRecord) => void } = {},
  ): Promise<JobRecord> {
    const record = this.get(id);
    return new Promise((resolve, reject) => {
      const listener = (changed: JobRecord) => {
        if (changed.id !== id) return;
        options.onChange?.(changed);
        if (isFinished(changed.state)) {
          cleanup();
          resolve(changed);
        }
      };
      const onAbort = () => {
        cleanup();
        reject(options.signal?.reason);
      };
      const cleanup = () => {
        this.off('change', listener);
        options.signal?.removeEventListener('abort', onAbort);
      };
      options.onChange?.(record);
      if (isFinished(record.state)) return resolve(record);
      this.on('change', listener);
      options.signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Stops running jobs; they stay `queued` on disk and resume at the next start. */
  async close(): Promise<void> {
    this.#closed = true;
    const running = [...this.#running.values()];
    for (const r of running)
      r.controller.abort(new ArozError('ERR_INTERRUPTED', 'The daemon is shutting down'));
    await Promise.allSettled(running.map((r) => r.done));
  }

  #pump(): void {
    if (this.#closed) return;
    for (const record of this.list()) {
      if (this.#running.size >= this.#concurrency) return;
      if (record.state === 'queued' && !this.#running.has(record.id)) this.#run(record);
    }
  }

  #run(record: JobRecord): void {
    const controller = new AbortController();
    const workDir = join(this.#dir, record.id);
    const resumed = record.runs > 0;
    const runner = this.#runners[record.kind];
    const work = async () => {
      record.state = 'running';
      record.runs++;
      record.startedAt = now();
      await this.#save(record);
      this.emit('change', record);
      if (runner === undefined)
        throw new ArozError('ERR_NOT_IMPLEMENTED', `No runner for "${record.kind}" jobs`);
      await mkdir(workDir, { recursive: true, mode: 0o700 });
      return await runner(record.params, {
        signal: controller.signal,
        workDir,
        resumed,
        onProgress: (progress: JobProgress) => {
          record.progress = progress;
          this.emit('change', record);
        },
      });
    };
    const done = work().then(
      (result) => this.#finish(record, 'done', { result: result as Record<string, unknown> }),
      async (err: unknown) => {
        if (this.#closed && controller.signal.aborted) {
          record.state = 'queued'; // interrupted by shutdown: resume next time
          await this.#save(record).catch(() => {});
          return;
        }
        const known =
          err instanceof ArozError ? err : new ArozError('ERR_INTERNAL', String(err), { cause: err });
        if (!(err instanceof ArozError)) debug('jobs: %s failed with a bug: %o', record.id, err);
        const state = controller.signal.aborted ? 'cancelled' : 'failed';
        await this.#finish(record, state, { error: { code: known.code, message: known.message } });
      },
    );
    const entry = {
      controller,
      done: done.finally(() => {
        this.#running.delete(record.id);
        this.#pump();
      }),
    };
    this.#running.set(record.id, entry);
  }

  async #finish(
    record: JobRecord,
    state: 'done' | 'failed' | 'cancelled',
    extra: Partial<JobRecord>,
  ): Promise<void> {
    Object.assign(record, extra, { state, finishedAt: now() });
    await this.#save(record).catch((err: unknown) => debug('jobs: cannot save %s: %o', record.id, err));
    await rm(join(this.#dir, record.id), { recursive: true, force: true });
    this.emit('change', record);
  }

  async #save(record: JobRecord): Promise<void> {
    await writeFileAtomic(join(this.#dir, `${record.id}.json`), `${JSON.stringify(record, null, 2)}\n`, {
      mode: 0o600,
      overwrite: true,
    });
  }
}

function now(): string {
  return new Date().toISOString();
}
