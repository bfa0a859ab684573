/**
 * `npm run bench:placement [-- --seed 1] [--copies 2] [--shift 1]`: a pure simulation over the
 * placement code itself (src/placement), no I/O: which node gets each copy of each chunk when files
 * are uploaded one after another with the default cluster list — today's rule (`list[(i + p·x) mod n]`
 * on the UUID-sorted list, the baseline) against spread placement (each chunk's own list from the
 * index id and every node's free space), both with the upload's fallback when a target is full.
 *
 * Workloads (seeded): 5,000 files of 1–50 MiB, 1,000 of 100 MiB–4 GiB, and both shuffled together;
 * 64 MiB chunks; 3, 4, 6 and 10 nodes; equal disks (4 TB each) and a 4 TB / 2 TB / 500 GB mix. Prints,
 * for each: every node's share of the stored bytes against its share of the capacity (target: within
 * ±5 % of it, relative; where one node has more than 1/R of the capacity no rule can give it more than
 * 1/R of the copies, so the target is then the capped share, copyShares()), the distinct node pairs
 * holding small files, and how the repair of one lost node's copies would load the survivors that
 * hold the other copy (the busiest survivor's share of the repair reads and the two busiest ones',
 * for the lost node where this is worst, against an even spread weighted by the survivors' targets).
 * The chunk placement is hashed, so a node with a small share of few copies deviates by chance: a
 * node expecting c copies is off by about 1/√c relative (2 % of 10,000 copies: ±7 %).
 */
import { copyShares, fallbacks, givenLists, spreadLists, target } from '../src/placement/index.ts';
import { benchArgs, numberArg } from './args.ts';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const TB = 1e12;
const CHUNK = 64 * MiB;

const { values } = benchArgs({
  options: {
    seed: { type: 'string', default: '1' },
    copies: { type: 'string', default: '2' },
    shift: { type: 'string', default: '1' },
  },
});
const SEED = numberArg(values.seed, 'seed', { min: 0 });
const R = numberArg(values.copies, 'copies');
const X = numberArg(values.shift, 'shift', { min: 0 });

/** mulberry32: a small seeded generator, so every run simulates the same files. */
function generator(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

function uuidFrom(random: () => number): string {
  const hex = Array.from({ length: 32 }, () => Math.floor(random() * 16).toString(16)).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20)}`;
}

interface SimFile {
  id: string;
  size: number;
  small: boolean;
}

function workload(name: 'small' | 'large' | 'mix', seed: number): SimFile[] {
  const random = generator(seed);
  const between = (lo: number, hi: number) => Math.floor(lo + random() * (hi - lo));
  const small = () => ({ id: uuidFrom(random), size: between(1 * MiB, 50 * MiB + 1), small: true });
  const large = () => ({ id: uuidFrom(random), size: between(100 * MiB, 4 * GiB + 1), small: false });
  const files: SimFile[] = [];
  if (name !== 'large') for (let k = 0; k < 5_000; k++) files.push(small());
  if (name !== 'small') for (let k = 0; k < 1_000; k++) files.push(large());
  for (let k = files.length - 1; k > 0; k--) {
    const j = Math.floor(random() * (k + 1));
    [files[k], files[j]] = [files[j]!, files[k]!];
  }
  return files;
}

interface Outcome {
  stored: Map<string, number>;
  /** Per chunk: its size and holders. */
  chunks: Array<{ size: number; holders: string[]; small: boolean }>;
  unplaced: number;
}

/** Uploads every file in turn with `rule`, with the upload's fallback when a target has no room. */
function simulate(
  rule: 'today' | 'spread',
  nodes: string[],
  capacity: Map<string, number>,
  files: SimFile[],
) {
  const used = new Map(nodes.map((n) => [n, 0]));
  const freeOf = (n: string) => capacity.get(n)! - used.get(n)!;
  const out: Outcome = { stored: used, chunks: [], unplaced: 0 };
  const sorted = [...nodes].sort();
  for (const file of files) {
    const count = Math.max(1, Math.ceil(file.size / CHUNK));
    const need = Math.min(CHUNK, file.size);
    let lists: (i: number) => readonly string[];
    if (rule === 'today') lists = givenLists(sorted);
    else {
      // What the daemon's probes see: each node's free space; below one chunk it counts as none.
      const space = sorted.map((node) => ({ node, free: freeOf(node) >= need ? freeOf(node) : 0 }));
      if (space.filter((s) => s.free > 0).length < R) {
        out.unplaced += count;
        continue;
      }
      lists = spreadLists(space, file.id, R, X);
    }
    for (let i = 0; i < count; i++) {
      const size = Math.min(CHUNK, file.size - i * CHUNK);
      const list = lists(i);
      const holders: string[] = [];
      for (let p = 0; p < R; p++) {
        const skip = (n: string) => holders.includes(n) || freeOf(n) < size;
        const first = target(list, 0, p, X);
        const node = skip(first) ? fallbacks(list, 0, p, X, skip).next().value : first;
        if (node === undefined) break;
        holders.push(node);
        used.set(node, used.get(node)! + size);
      }
      if (holders.length < R) out.unplaced++;
      out.chunks.push({ size, holders, small: file.small });
    }
  }
  return out;
}

const pct = (v: number) => (100 * v).toFixed(1);

function report(out: Outcome, nodes: string[], capacity: Map<string, number>) {
  const total = [...out.stored.values()].reduce((a, b) => a + b, 0);
  const caps = nodes.map((n) => capacity.get(n)!);
  const targetShares = copyShares(caps, R);
  const shares = nodes.map((n) => out.stored.get(n)! / total);
  const worst = Math.max(...shares.map((s, k) => Math.abs(s / targetShares[k]! - 1)));
  const points = Math.max(...shares.map((s, k) => Math.abs(s - targetShares[k]!)));
  const pairs = new Set(
    out.chunks.filter((c) => c.small && c.holders.length >= 2).map((c) => [...c.holders].sort().join('+')),
  );
  // Repair: for each lost node, the bytes each survivor would read to re-make the lost copies; the
  // worst lost node is the one whose busiest survivor is furthest above an even (capacity-weighted)
  // spread over the survivors.
  let busiest = 0;
  let neighbours = 0;
  let fair = 0;
  let excess = 0;
  for (const lost of nodes) {
    const reads = new Map(nodes.filter((n) => n !== lost).map((n) => [n, 0]));
    for (const c of out.chunks) {
      if (!c.holders.includes(lost)) continue;
      const source = c.holders.find((h) => h !== lost);
      if (source !== undefined) reads.set(source, reads.get(source)! + c.size);
    }
    const all = [...reads.values()].sort((a, b) => b - a);
    const sum = all.reduce((a, b) => a + b, 0);
    if (sum === 0) continue;
    const even = nodes.map((n, k) => (n === lost ? 0 : targetShares[k]!));
    const evenBusiest = Math.max(...even) / even.reduce((a, b) => a + b, 0);
    if (all[0]! / sum / evenBusiest <= excess) continue;
    excess = all[0]! / sum / evenBusiest;
    busiest = all[0]! / sum;
    neighbours = (all[0]! + (all[1] ?? 0)) / sum;
    fair = evenBusiest;
  }
  return {
    shares: shares.map(pct).join('/'),
    target: targetShares.map(pct).join('/'),
    worst,
    points,
    fair,
    pairs: pairs.size,
    possible: (nodes.length * (nodes.length - 1)) / 2,
    busiest,
    neighbours,
    unplaced: out.unplaced,
  };
}

const started = performance.now();
console.log(
  `Placement simulation: ${R} copies, shift ${X}, 64 MiB chunks, seed ${SEED}; shares of stored bytes per node, in %.`,
);
console.log(
  'dev = worst |share / target − 1| (target = capacity share, capped at 1/R), and in percentage points; pairs = distinct node pairs holding small files;',
);
console.log(
  'repair = after one node is lost, the busiest survivor’s share of the repair reads (top 2 in brackets) for the worst lost node, against an even spread\nover the survivors (weighted by target share).\n',
);
for (const name of ['small', 'large', 'mix'] as const) {
  const files = workload(name, SEED);
  const bytes = files.reduce((a, f) => a + f.size, 0);
  console.log(`## ${name}: ${files.length} files, ${(bytes / TB).toFixed(2)} TB (× ${R} copies)\n`);
  console.log('| nodes | disks | rule | shares | target | dev | pairs | repair (top 2) | even | unplaced |');
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const n of [3, 4, 6, 10]) {
    const random = generator(SEED * 7919 + n);
    const nodes = Array.from({ length: n }, () => uuidFrom(random)).sort();
    for (const disks of ['equal', 'mixed'] as const) {
      const sizes = [4 * TB, 2 * TB, 0.5 * TB];
      const capacity = new Map(nodes.map((node, k) => [node, disks === 'equal' ? 4 * TB : sizes[k % 3]!]));
      for (const rule of ['today', 'spread'] as const) {
        const r = report(simulate(rule, nodes, capacity, files), nodes, capacity);
        const ok = r.worst <= 0.05 ? '' : ' ✗';
        console.log(
          `| ${n} | ${disks} | ${rule} | ${r.shares} | ${r.target} | ${pct(r.worst)} %${ok} (${pct(r.points)} pt) | ${r.pairs} of ${r.possible} | ${pct(r.busiest)} % (${pct(r.neighbours)} %) | ${pct(r.fair)} % | ${r.unplaced} |`,
        );
      }
    }
  }
  console.log('');
}
console.log(`(${((performance.now() - started) / 1000).toFixed(1)} s)`);
