/**
 * `arozdfs check INDEX [--deep]`: asks the local daemon (which holds the connections to the other
 * nodes) which copies of the index's chunks can be had right now; `--deep` reads and hashes every
 * copy. Prints a summary and the chunks that are not healthy. When a chunk has no good copy, exit 1
 * with ERR_DATA_LOST (every holder answered: lost), else ERR_INDEX_MISMATCH (the holders' intact
 * copies agree, the index does not), else ERR_DATA_UNREACHABLE (a holder could not be asked: unknown);
 * with `--json` the full report then comes in a `report` line before the error line (docs/cli-json.md).
 */
import { resolve } from 'node:path';
import type { CheckReport, CopyReport } from '../check/index.ts';
import { controlCall } from '../control/client.ts';
import { ArozError } from '../errors.ts';
import { readIndexFile } from '../index-file/index.ts';
import { formatSize } from '../size.ts';
import type { CliContext, Register } from './context.ts';

type Report = CheckReport & { nodes: Array<{ node: string; label: string | null }> };

const SHOWN = 20;

function copyLine(copy: CopyReport, name: (node: string) => string): string {
  const line = holderLine(copy, name);
  return copy.shard === undefined ? line : `shard ${copy.shard}: ${line}`;
}

function holderLine(copy: CopyReport, name: (node: string) => string): string {
  // Why a node is unreachable is said once, on its line under "Nodes".
  if (copy.state === 'unreachable') return `${name(copy.node)} unreachable`;
  if (copy.state === 'missing') return `${name(copy.node)} does not have it`;
  if (copy.state === 'mismatch') return `${name(copy.node)} has an intact copy that differs from the index`;
  return `${name(copy.node)} ${copy.state}${copy.error === undefined ? '' : `: ${copy.error} (${copy.code})`}`;
}

/** The report for people: what was checked, each node's share, the chunks that are not healthy. */
function describeReport(report: Report): string {
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
  const { healthy, degraded, mismatch, unknown, lost } = report.summary;
  lines.push(
    [
      `Summary: ${healthy} healthy, ${degraded} degraded (fewer than ${report.copies} good copies)`,
      ...(mismatch > 0 ? [`${mismatch} where the index disagrees with every copy`] : []),
      ...(unknown > 0 ? [`${unknown} unknown (no good copy found, and a holder could not be asked)`] : []),
      `${lost} lost (every holder answered, none has a good copy).`,
    ].join(', '),
  );
  return lines.join('\n');
}

/**
 * The error a check ends with when a chunk has no good copy: lost first (every holder answered), then
 * an index that disagrees with every copy, then unknown (a holder could not be asked).
 */
function checkFailure(report: CheckReport): ArozError | undefined {
  const { lost, mismatch, unknown } = report.summary;
  const first = (health: string) => {
    const c = report.chunks.find((chunk) => chunk.health === health);
    return `chunk ${c?.i} ("${c?.uuid}")`;
  };
  if (lost > 0) {
    return new ArozError(
      'ERR_DATA_LOST',
      `"${report.name}" cannot be rebuilt: ${lost} chunk(s) have no good copy on any holder, the first is ${first('lost')}`,
    );
  }
  if (mismatch > 0) {
    return new ArozError(
      'ERR_INDEX_MISMATCH',
      `The index of "${report.name}" disagrees with every copy of ${mismatch} chunk(s), the first is ${first('mismatch')}: the copies are intact and alike, so the index was changed`,
    );
  }
  if (unknown > 0) {
    return new ArozError(
      'ERR_DATA_UNREACHABLE',
      `"${report.name}" cannot be rebuilt now: ${unknown} chunk(s) have no good copy on the holders that answered, the first is ${first('unknown')}; the others could not be asked, so whether it is lost is unknown`,
    );
  }
  return undefined;
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
        const failure = checkFailure(report);
        if (failure === undefined) {
          ctx.out.result({ index: indexPath, ...report }, describeReport(report));
          return;
        }
        if (ctx.json) ctx.out.event('report', { index: indexPath, ...report });
        else ctx.out.result({}, describeReport(report));
        throw failure;
      }),
    );
};
