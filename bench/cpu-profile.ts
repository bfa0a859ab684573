/**
 * Where a process spent its time, from a V8 `.cpuprofile` (`node --cpu-prof`): self time per
 * function and per source file, as shares of the time the process was not idle. Used by
 * `bench/cluster.ts --cpu-prof`; also runs alone: `node bench/cpu-profile.ts FILE.cpuprofile…`.
 */
import { readFile } from 'node:fs/promises';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  /** Seconds sampled, and of those not idle. */
  total: number;
  busy: number;
  functions: Array<{ name: string; seconds: number; caller?: string }>;
  files: Array<{ name: string; seconds: number }>;
}

function shortUrl(url: string): string {
  if (url === '') return '(native)';
  const at = url.lastIndexOf('/src/');
  if (at >= 0) return url.slice(at + 1);
  return url.replace(/^file:\/\/.*\/node_modules\//, '');
}

export async function summarize(path: string, top = 12): Promise<ProfileSummary> {
  const profile = JSON.parse(await readFile(path, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parentOf = new Map<number, ProfileNode>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parentOf.set(c, n);
  const label = (frame: ProfileNode['callFrame']) =>
    `${frame.functionName || '(anonymous)'} ${shortUrl(frame.url)}${frame.url ? `:${frame.lineNumber + 1}` : ''}`;
  /** Per function, the time of each of its callers (a native function's JavaScript caller). */
  const callers = new Map<string, Map<string, number>>();
  const fn = new Map<string, number>();
  const file = new Map<string, number>();
  let total = 0;
  let idle = 0;
  for (const [k, id] of profile.samples.entries()) {
    const us = profile.timeDeltas[k] ?? 0;
    total += us;
    const frame = byId.get(id)?.callFrame;
    if (frame === undefined) continue;
    if (frame.functionName === '(idle)') {
      idle += us;
      continue;
    }
    const where = shortUrl(frame.url);
    const name = label(frame);
    fn.set(name, (fn.get(name) ?? 0) + us);
    const parent = parentOf.get(id)?.callFrame;
    if (parent !== undefined) {
      const of = callers.get(name) ?? new Map<string, number>();
      of.set(label(parent), (of.get(label(parent)) ?? 0) + us);
      callers.set(name, of);
    }
    const group = frame.url === '' ? frame.functionName : where;
    file.set(group, (file.get(group) ?? 0) + us);
  }
  const ranked = (m: Map<string, number>) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => ({ name, seconds: us / 1e6 }));
  const functions = ranked(fn).map((f) => {
    const [caller] = [...(callers.get(f.name) ?? new Map<string, number>()).entries()].sort(
      (a, b) => b[1] - a[1],
    );
    return caller === undefined ? f : { ...f, caller: caller[0] };
  });
  return { total: total / 1e6, busy: (total - idle) / 1e6, functions, files: ranked(file) };
}

export function formatSummary(label: string, s: ProfileSummary): string {
  const pct = (x: number) => `${((100 * x) / (s.busy || 1)).toFixed(1).padStart(5)} %`;
  return [
    `${label}: ${s.busy.toFixed(1)} s busy of ${s.total.toFixed(1)} s sampled`,
    '  self time by file:',
    ...s.files.map((f) => `    ${pct(f.seconds)}  ${f.name}`),
    '  self time by function:',
    ...s.functions.map((f) => `    ${pct(f.seconds)}  ${f.name}${f.caller ? `  ← ${f.caller}` : ''}`),
  ].join('\n');
}

if (import.meta.main) {
  for (const path of process.argv.slice(2)) {
    process.stdout.write(`${formatSummary(path, await summarize(path))}\n`);
  }
}
