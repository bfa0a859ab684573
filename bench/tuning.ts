/**
 * The daemons' memory tuning in the benchmarks: what `npm start`, the systemd unit and the image run
 * with (docs/transfer.md, "Memory"). glibc gives each thread that allocates its own malloc arena and
 * returns little of them, and V8 grows its young generation to 16 MiB semi-spaces under a high
 * allocation rate. The daemons inherit MALLOC_ARENA_MAX=2 and get --max-semi-space-size=2;
 * AROZDFS_BENCH_TUNING=default leaves both at their defaults, and AROZDFS_BENCH_NODE_FLAGS replaces
 * the node flags.
 */
export function daemonTuning(): { nodeFlags: string[]; note: string } {
  const tuned = process.env['AROZDFS_BENCH_TUNING'] !== 'default';
  if (tuned) process.env['MALLOC_ARENA_MAX'] ??= '2';
  const nodeFlags = (process.env['AROZDFS_BENCH_NODE_FLAGS'] ?? (tuned ? '--max-semi-space-size=2' : ''))
    .split(' ')
    .filter((f) => f !== '');
  const arenas = process.env['MALLOC_ARENA_MAX'] ?? '(glibc default)';
  const flags = nodeFlags.length > 0 ? ` and ${nodeFlags.join(' ')}` : '';
  return { nodeFlags, note: `Daemons run with MALLOC_ARENA_MAX=${arenas}${flags}.` };
}
