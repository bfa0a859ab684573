/**
 * `arozdfs check INDEX [--deep]`: asks the local daemon (which holds the connections to the other
 * nodes) which copies of the index's chunks can be had right now; `--deep` reads and hashes every
 * copy. Prints a summary (healthy / degraded / lost) and the chunks that are not healthy. Exit 1 with
 * ERR_DATA_LOST when a chunk has no good copy; with `--json` the full report then comes in a `report`
 * line before the error line (docs/cli-json.md).
 */
import { resolve } from 'node:path';
import { controlCall } from '../control/client.ts';
import { ArozError } from '../errors.ts';
import { readIndexFile } from '../index-file/index.ts';
import type { CheckReport, CopyReport } from '../node/check.ts';
import { formatSize } from '../size.ts';
import type { CliContext, Register } from './context.ts';

type Report = CheckReport & { nodes: Array<{ node: string; label: string | null }> };

const SHOWN = 20;

function copyLine(copy: CopyReport, name: (node: string) => string): string {
  // Why a node is unreachable is said once, on its line under "Nodes".
  if (copy.state === 'unreachable') return `${name(copy.node)} unreachable`;
  if (copy.state === 'missing') return `${name(copy.node)} does not have it`;
  return `${name(copy.node)} ${copy.state}${copy.error === undefined ? '' : `: ${copy.error} (${copy.code})`}`;
}

/** The report for people: what was checked, each node's share, the chunks that are not healthy. */
export function describeReport(report: Report): string {
  const labels = new Map(report.nodes.map((n) => [n.node, n.label]));
  const name = (node: string) => labels.get(node) ?? node.slice(0, 8);
  const lines = [
    `Checked "${report.name}" (${formatSize(report.size)}, ${report.summary.chunks} chunk(s), ${report.copies} copies each)${report.deep ? ', reading and hashing every copy' : ', asking each holder for its record'}.`,
    report.trusted
      ? `The index is signed by node ${name(report.signer ?? '')} (${report.signer}), which this node trusts.`
      : `WARNING: the index is not trusted (${report.trustProblem}); its copies were checked anyway.`,
    'Nodes:',
  ];
  for (const { node } of report.nodes) {
    const copies = report.chunks.flatMap((c) => c.holders.filter((h) => h.node === node));
    const ok = copies.filter((c) => c.state === 'ok').length;
    const trouble = copies.find((c) => c.state === 'unreachable');
    const tail = trouble !== undefined ? ` — unreachable: ${trouble.error} (${trouble.code})` : '';
    lines.push(`  ${name(node).padEnd(16)} ${node}  ${ok} of ${copies.length} copies ok${tail}`);
  }
  const bad = report.chunks.filter((c) => c.health !== 'healthy');
  if (bad.length > 0) lines.push('Chunks that are not healthy:');
  for (const chunk of bad.slice(0, SHOWN)) {
    const problems = chunk.holders.filter((h) => h.state !== 'ok').map((h) => copyLine(h, name));
    lines.push(
      `  chunk ${chunk.i} (${chunk.uuid}): ${chunk.health.toUpperCase()}, ${chunk.good} good — ${problems.join('; ')}`,
    );
  }
  if (bad.length > SHOWN) lines.push(`  … and ${bad.length - SHOWN} more`);
  const { healthy, degraded, lost } = report.summary;
  lines.push(
    `Summary: ${healthy} healthy, ${degraded} degraded (fewer than ${report.copies} good copies), ${lost} lost (no good copy).`,
  );
  return lines.join('\n');
}

/** Runs the check in the daemon of `ctx.home`, forwarding its progress. */
export async function runCheck(ctx: CliContext, indexPath: string, deep: boolean): Promise<Report> {
  const answer = (await controlCall(
    ctx.home,
    'POST',
    '/v1/check',
    { index: indexPath, deep },
    {
      signal: ctx.signal,
      timeoutMs: 2 ** 31 - 1,
      onLine: (line) => {
        if (line['type'] !== 'progress') return;
        const p = line as { done: number; total: number; chunksDone: number; chunks: number };
        ctx.out.progress({
          phase: 'check',
          done: p.done,
          total: p.total,
          chunksDone: p.chunksDone,
          chunks: p.chunks,
        });
      },
    },
  )) as { report: Report };
  return answer.report;
}

export const register: Register = (program, action) => {
  program
    .command('check <index>')
    .description('which copies of a file are reachable now (--deep: and hash-verified)')
    .option('--deep', 'read every copy and verify its SHA-256 (reads all the bytes)')
    .action(
      action<[string], { deep?: boolean }>(async (ctx, [indexArg], options) => {
        const indexPath = resolve(indexArg);
        await readIndexFile(indexPath, { signal: ctx.signal }); // a bad index fails here, daemon or not
        const report = await runCheck(ctx, indexPath, options.deep === true);
        const { lost } = report.summary;
        if (lost === 0) {
          ctx.out.result({ index: indexPath, ...report }, describeReport(report));
          return;
        }
        if (ctx.json) ctx.out.event('report', { index: indexPath, ...report });
        else ctx.out.result({}, describeReport(report));
        const first = report.chunks.find((c) => c.health === 'lost');
        throw new ArozError(
          'ERR_DATA_LOST',
          `"${report.name}" cannot be rebuilt now: ${lost} chunk(s) have no good copy, the first is chunk ${first?.i} ("${first?.uuid}")`,
        );
      }),
    );
};
