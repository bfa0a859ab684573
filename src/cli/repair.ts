/**
 * `arozdfs repair [NAME|ID] [--now] [--detach]`: runs a repair pass in the local daemon at once, as a
 * `repair` job (docs/repair.md), and reports what it did: chunks checked, chunks with too few copies,
 * copies made, failures. NAME or ID narrows it to one file; `--now` counts the peers unreachable right
 * now as gone without waiting for `repairGoneSeconds` (a person who knows a node is dead says so).
 */

import type { RepairResult } from '../ops/jobs.ts';
import { formatSize } from '../size.ts';
import type { CliContext, Register } from './context.ts';
import { findFile } from './files.ts';
import { followJob, submitJob } from './jobs-client.ts';

function describe(r: RepairResult): string {
  const lines = [
    `Repair looked at ${r.files} file(s): ${r.chunks} chunk(s) held here were counted, ${r.underReplicated} had too few copies and this node repairs them.`,
    `Made ${r.copies} new cop${r.copies === 1 ? 'y' : 'ies'} (${formatSize(r.bytes)} fetched by the new holders from the holders).`,
  ];
  if (r.collected > 0)
    lines.push(`Moved ${r.collected} extra cop${r.collected === 1 ? 'y' : 'ies'} of this node to its trash.`);
  if (r.orphans > 0)
    lines.push(
      `Moved ${r.orphans} cop${r.orphans === 1 ? 'y' : 'ies'} no live file references (orphans) to the trash.`,
    );
  if (r.orphansKept > 0)
    lines.push(
      `Kept ${r.orphansKept} unreferenced cop${r.orphansKept === 1 ? 'y' : 'ies'} of removed nodes for a person to purge.`,
    );
  if (r.gone.length > 0) lines.push(`Counted as gone: ${r.gone.join(', ')}.`);
  if (r.stillShort > 0)
    lines.push(`${r.stillShort} chunk(s) are still short of copies: no other node could take one.`);
  for (const f of r.failures.slice(0, 10))
    lines.push(`  chunk ${f.chunk} → node ${f.node}: ${f.message} (${f.code})`);
  if (r.failures.length > 10) lines.push(`  … and ${r.failures.length - 10} more failure(s)`);
  return lines.join('\n');
}

async function repair(
  ctx: CliContext,
  ref: string | undefined,
  options: { now?: boolean; detach?: boolean },
): Promise<void> {
  const file = ref === undefined ? undefined : await findFile(ctx, ref);
  const job = await submitJob(ctx, 'repair', {
    ...(file !== undefined ? { file: file.id } : {}),
    now: options.now === true,
  });
  if (options.detach === true) {
    ctx.out.result({ detached: true, job: job.id, state: job.state }, `Repair job ${job.id} started.`);
    return;
  }
  const done = await followJob(ctx, job.id, { cancelOnInterrupt: true });
  const result = done.result as unknown as RepairResult;
  ctx.out.result({ job: done.id, ...result }, describe(result));
}

export const register: Register = (program, action) => {
  program
    .command('repair [name-or-id]')
    .description('make the missing copies of the files now (all files, or one)')
    .option('--now', 'count the nodes unreachable now as gone, without waiting for the delay')
    .option('--detach', 'return the job id at once')
    .action(
      action<[string | undefined], { now?: boolean; detach?: boolean }>(async (ctx, [ref], options) => {
        await repair(ctx, ref, options);
      }),
    );
};
