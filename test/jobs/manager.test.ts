import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { ArozError, isArozError } from '../../src/errors.ts';
import { JobManager, type JobRecord, type JobRunner } from '../../src/jobs/index.ts';
import { teardown, tmpDir } from '../helpers/context.ts';

async function manager(t: TestContext, dir: string, upload: JobRunner): Promise<JobManager> {
  const jobs = new JobManager({ dir, runners: { upload } });
  teardown(t).defer(() => jobs.close());
  await jobs.start();
  return jobs;
}

/**
 * A runner that reports progress and finishes only when `release` is called (or is aborted);
 * `started` resolves once it has reported its progress.
 */
function gated() {
  let release!: () => void;
  const gate = new Promise<void>((r) => {
    release = r;
  });
  let onStarted!: () => void;
  const started = new Promise<void>((r) => {
    onStarted = r;
  });
  const seen: Array<{ resumed: boolean }> = [];
  const runner: JobRunner = async (params, ctx) => {
    seen.push({ resumed: ctx.resumed });
    ctx.onProgress({ phase: 'upload', done: 1, total: 2 });
    onStarted();
    await new Promise<void>((resolve, reject) => {
      void gate.then(resolve);
      ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason), { once: true });
    });
    return { echoed: params['file'] };
  };
  return { runner, release, seen, started };
}

test('a job runs in the background, reports progress and keeps its result on disk', async (t: TestContext) => {
  const dir = await tmpDir(t);
  const { runner, release, started } = gated();
  const jobs = await manager(t, dir, runner);
  const job = await jobs.submit('upload', { file: '/x' });
  const changes: string[] = [];
  const waiting = jobs.wait(job.id, {
    onChange: (r) => changes.push(`${r.state}:${r.progress?.done ?? '-'}`),
  });
  await started;
  release();
  const finished = await waiting;
  t.assert.strictEqual(finished.state, 'done');
  t.assert.deepStrictEqual(finished.result, { echoed: '/x' });
  t.assert.ok(changes.includes('running:1'), changes.join(' '));
  const onDisk = JSON.parse(await readFile(join(dir, `${job.id}.json`), 'utf8')) as JobRecord;
  t.assert.strictEqual(onDisk.state, 'done');
});

test('a failing job keeps its error code', async (t: TestContext) => {
  const jobs = await manager(t, await tmpDir(t), async () => {
    throw new ArozError('ERR_CHUNK_MISSING', 'gone');
  });
  const job = await jobs.submit('upload', {});
  const finished = await jobs.wait(job.id);
  t.assert.strictEqual(finished.state, 'failed');
  t.assert.strictEqual(finished.error?.code, 'ERR_CHUNK_MISSING');
});

test('cancel() stops a running job; a second job waits its turn', async (t: TestContext) => {
  const { runner, release, started } = gated();
  const jobs = await manager(t, await tmpDir(t), runner);
  const first = await jobs.submit('upload', {});
  const second = await jobs.submit('upload', {});
  await started;
  t.assert.strictEqual(jobs.get(second.id).state, 'queued');
  t.assert.strictEqual((await jobs.cancel(first.id)).state, 'cancelled');
  release();
  t.assert.strictEqual((await jobs.wait(second.id)).state, 'done');
});

test('a job interrupted by shutdown resumes when the daemon starts again', async (t: TestContext) => {
  const dir = await tmpDir(t);
  const one = gated();
  const jobs = await manager(t, dir, one.runner);
  const job = await jobs.submit('upload', { file: '/y' });
  await one.started;
  await jobs.close();
  const onDisk = JSON.parse(await readFile(join(dir, `${job.id}.json`), 'utf8')) as JobRecord;
  t.assert.strictEqual(onDisk.state, 'queued');
  const two = gated();
  two.release();
  const again = await manager(t, dir, two.runner);
  const finished = await again.wait(job.id);
  t.assert.strictEqual(finished.state, 'done');
  t.assert.strictEqual(finished.runs, 2);
  t.assert.deepStrictEqual(two.seen, [{ resumed: true }]);
});

test('an unknown or malformed job id is ERR_JOB_NOT_FOUND or ERR_INVALID_UUID', async (t: TestContext) => {
  const jobs = await manager(t, await tmpDir(t), async () => ({}));
  t.assert.throws(
    () => jobs.get('6f1c3f5e-2a43-4b8e-9c1d-0d6a2b7c9e10'),
    (err) => isArozError(err, 'ERR_JOB_NOT_FOUND'),
  );
  t.assert.throws(
    () => jobs.get('../x'),
    (err) => isArozError(err, 'ERR_INVALID_UUID'),
  );
});

test('with a concurrency of 2, a job stuck (on a frozen peer) does not hold up the next one', async (t: TestContext) => {
  const dir = await tmpDir(t);
  const stuck = gated();
  const upload: JobRunner = async (params, ctx) =>
    params['file'] === '/stuck' ? stuck.runner(params, ctx) : { echoed: params['file'] };
  const jobs = new JobManager({ dir, runners: { upload }, concurrency: 2 });
  teardown(t).defer(() => jobs.close());
  await jobs.start();
  const first = await jobs.submit('upload', { file: '/stuck' });
  await stuck.started;
  const second = await jobs.submit('upload', { file: '/quick' });
  t.assert.strictEqual((await jobs.wait(second.id)).state, 'done');
  t.assert.strictEqual(jobs.get(first.id).state, 'running');
  stuck.release();
  t.assert.strictEqual((await jobs.wait(first.id)).state, 'done');
});
