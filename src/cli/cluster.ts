/** `arozdfs cluster nodes | discover | resolve`: the cluster as the running daemon sees it. */
import { controlCall } from '../control/client.ts';
import { ArozError } from '../errors.ts';
import { formatSize } from '../size.ts';
import type { Register } from './context.ts';
import { table } from './table.ts';

interface NodeRow {
  nodeUuid: string;
  label: string;
  state: string;
  address: string | null;
  source: string | null;
  free?: number;
  error?: string;
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
        ]);
        ctx.out.result(
          { nodes },
          nodes.length === 0
            ? 'This node trusts no other node yet (see "arozdfs keys show" to pair).'
            : table(['NODE UUID', 'LABEL', 'STATE', 'ADDRESS', 'SOURCE', 'FREE'], rows),
        );
      }),
    );
  for (const [name, args] of [
    ['discover', ''],
    ['resolve', ' <node-uuid>'],
  ] as const) {
    cluster.command(`${name}${args}`).action(
      action(async () => {
        throw new ArozError('ERR_NOT_IMPLEMENTED', `"arozdfs cluster ${name}" is not implemented yet`);
      }),
    );
  }
};
