/** `arozdfs jobs list | show ID | wait ID | cancel ID`: background jobs of the local daemon. */
import { controlCall } from '../control/client.ts';
import type { JobRecord } from '../jobs/types.ts';
import { assertUuid } from '../uuid.ts';
import type { Register } from './context.ts';
import { followJob } from './jobs-client.ts';
import { table } from './table.ts';

function percent(job: JobRecord): string {
  const p = job.progress;
  return p === undefined || p.total === 0 ? '-' : `${Math.floor((p.done / p.total) * 100)}%`;
}

function describe(job: JobRecord): string {
  return [
    `Job ${job.id}: ${job.kind}, ${job.state}${job.progress ? ` (${percent(job)})` : ''}`,
    `  asked:    ${JSON.stringify(job.params)}`,
    `  created:  ${job.createdAt}${job.finishedAt ? `, finished ${job.finishedAt}` : ''}`,
    ...(job.error ? [`  error:    ${job.error.message} (${job.error.code})`] : []),
    ...(job.result ? [`  result:   ${JSON.stringify(job.result).slice(0, 500)}`] : []),
  ].join('\n');
}

export const register: Register = (program, action) => {
  const jobs = program.command('jobs').description('background jobs of the local node');
  jobs
    .command('list')
    .description('every job the daemon knows')
    .action(
      action(async (ctx) => {
        const { jobs: list } = (await controlCall(ctx.home, 'GET', '/v1/jobs', undefined, {
          signal: ctx.signal,
        })) as {
          jobs: JobRecord[];
        };
        ctx.out.result(
          { jobs: list },
          list.length === 0
            ? 'No jobs yet.'
            : table(
                ['JOB', 'KIND', 'STATE', 'PROGRESS', 'CREATED'],
                list.map((j) => [j.id, j.kind, j.state, percent(j), j.createdAt]),
              ),
        );
      }),
    );
  jobs
    .command('show <id>')
    .description('one job in detail')
    .action(
      action<[string], Record<string, never>>(async (ctx, [id]) => {
        const job = (await controlCall(
          ctx.home,
          'GET',
          `/v1/jobs/${assertUuid(id, 'The job id')}`,
          undefined,
          { signal: ctx.signal },
        )) as JobRecord;
        ctx.out.result({ job }, describe(job));
      }),
    );
  jobs
    .command('wait <id>')
    .description('follow a job until it ends (Ctrl-C stops following, not the job)')
    .action(
      action<[string], Record<string, never>>(async (ctx, [id]) => {
        const job = await followJob(ctx, assertUuid(id, 'The job id'), { cancelOnInterrupt: false });
        ctx.out.result({ job }, describe(job));
      }),
    );
  jobs
    .command('cancel <id>')
    .description('cancel a queued or running job')
    .action(
      action<[string], Record<string, never>>(async (ctx, [id]) => {
        const job = (await controlCall(
          ctx.home,
          'POST',
          `/v1/jobs/cancel/${assertUuid(id, 'The job id')}`,
          undefined,
          { signal: ctx.signal },
        )) as JobRecord;
        ctx.out.result({ job }, `Job ${job.id} is ${job.state}.`);
      }),
    );
};
