/** `arozdfs cluster nodes | discover | resolve`: the cluster as the running daemon sees it. */
import { controlCall } from '../control/client.ts';
import type { NodeScrub } from '../ops/types.ts';
import { formatSize } from '../size.ts';
import { assertUuid } from '../uuid.ts';
import type { Register } from './context.ts';
import { table } from './table.ts';

interface NodeRow {
  nodeUuid: string;
  label: string;
  state: string;
  address: string | null;
  source: string | null;
  free?: number;
  trash?: { chunks: number; bytes: number };
  scrub?: NodeScrub | null;
  error?: string;
}

/** What a node's scrub found, and when its last full pass ended. */
function scrubText(scrub: NodeRow['scrub']): string {
  if (scrub === undefined || scrub === null) return '-';
  if (scrub.state === 'off') return 'off';
  const when = scrub.lastPassAt === null ? 'no pass yet' : `pass ${scrub.lastPassAt.slice(0, 10)}`;
  const { chunks, bytes } = scrub.quarantined;
  if (scrub.corrupt === 0 && chunks === 0) return `ok, ${when}`;
  return `${scrub.corrupt} corrupt, ${chunks} quarantined (${formatSize(bytes)}), ${when}`;
}

/** What a node's trash holds, for the table. */
function trashText(trash: NodeRow['trash']): string {
  if (trash === undefined) return '-';
  if (trash.chunks === 0) return 'empty';
  return `${formatSize(trash.bytes)} in ${trash.chunks} chunk${trash.chunks === 1 ? '' : 's'}`;
}

export const register: Register = (program, action) => {
  const cluster = program.command('cluster').description('trusted and visible nodes');
  cluster
    .command('nodes')
    .description('trusted nodes with state and address (asks the running daemon)')
    .action(
      action(async (ctx) => {
        const { nodes } = (await controlCall(ctx.home, 'GET', '/v1/cluster/nodes', undefined, {
          signal: ctx.signal,
        })) as { nodes: NodeRow[] };
        const rows = nodes.map((n) => [
          n.nodeUuid,
          n.label,
          n.state,
          n.address ?? '-',
          n.source ?? '-',
          n.free === undefined ? '-' : formatSize(n.free),
          trashText(n.trash),
          scrubText(n.scrub),
        ]);
        ctx.out.result(
          { nodes },
          nodes.length === 0
            ? 'This node trusts no other node yet (see "arozdfs keys show" to pair).'
            : table(['NODE UUID', 'LABEL', 'STATE', 'ADDRESS', 'SOURCE', 'FREE', 'TRASH', 'SCRUB'], rows),
        );
      }),
    );
  cluster
    .command('discover')
    .description('nodes visible on the LAN (mDNS), trusted or not')
    .action(
      action(async (ctx) => {
        const found = (await controlCall(ctx.home, 'GET', '/v1/cluster/discover', undefined, {
          signal: ctx.signal,
        })) as {
          enabled: boolean;
          nodes: Array<{ nodeUuid: string; name: string; address: string; trust: string }>;
          duplicates: Array<{ address: string }>;
        };
        const words: Record<string, string> = {
          trusted: 'trusted',
          untrusted: 'not trusted (pair it to use it)',
          mismatch: 'CLAIMS A TRUSTED UUID WITH ANOTHER KEY',
          self: 'this node',
          duplicate: "THIS NODE'S UUID ON ANOTHER MACHINE",
        };
        const lines = !found.enabled
          ? 'Discovery is off on this node (--no-discovery).'
          : found.nodes.length === 0
            ? 'No arozdfs node is visible on the network yet.'
            : table(
                ['NODE UUID', 'NAME', 'ADDRESS', 'TRUST'],
                found.nodes.map((n) => [n.nodeUuid, n.name, n.address, words[n.trust] ?? n.trust]),
              );
        ctx.out.result(found, lines);
      }),
    );
  cluster
    .command('resolve <node-uuid>')
    .description('the live address of a trusted node')
    .action(
      action<[string], Record<string, never>>(async (ctx, [uuid]) => {
        const found = (await controlCall(
          ctx.home,
          'GET',
          `/v1/cluster/resolve/${assertUuid(uuid, 'The node UUID')}`,
          undefined,
          {
            signal: ctx.signal,
          },
        )) as { address: string; source: string; verified: boolean };
        ctx.out.result(
          found,
          `${found.address} (${found.source}${found.verified ? ', verified by a pinned handshake' : ''})`,
        );
      }),
    );
};
