/**
 * `arozdfs demo`: the whole idea in one command on one machine. Three nodes (alpha, beta, gamma) run
 * as separate processes on 127.0.0.2–4 with temporary homes, paired with each other; alpha uploads a
 * generated file (every chunk on two nodes), one other node is killed, `check` shows what is left,
 * alpha downloads the file back and its SHA-256 is compared with the original. Each step is told in
 * plain words on stderr; `--json` prints the upload and download progress and one result. Everything
 * it started is stopped and its folder removed — on success, failure and Ctrl-C.
 */
import { createHash, randomFillSync } from 'node:crypto';
import { mkdir, open } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ArozError } from '../errors.ts';
import { checkChunkSize, formatSize, parseSize } from '../size.ts';
import { runCheck } from './check.ts';
import type { CliContext, Register } from './context.ts';
import { followJob, submitJob } from './jobs-client.ts';
import { LocalCluster, type LocalNode } from './local-cluster.ts';

const PIECE = 1024 * 1024;
const MAX_DEMO_SIZE = 4 * 1024 ** 3;

interface DemoOptions {
  size?: string;
  chunkSize?: string;
}

/** Writes `size` random bytes to `path` through one reused buffer; returns their SHA-256. */
async function writeRandomFile(path: string, size: number, signal: AbortSignal): Promise<string> {
  const buffer = Buffer.allocUnsafeSlow(PIECE);
  const hash = createHash('sha256');
  const fh = await open(path, 'wx', 0o600);
  try {
    for (let at = 0; at < size; at += PIECE) {
      signal.throwIfAborted();
      const piece = randomFillSync(buffer.subarray(0, Math.min(PIECE, size - at)));
      hash.update(piece);
      await fh.write(piece, 0, piece.length, at);
    }
  } finally {
    await fh.close();
  }
  return hash.digest('hex');
}

/** SHA-256 of a file, read through one reused buffer. */
async function hashFile(path: string, signal: AbortSignal): Promise<string> {
  const buffer = Buffer.allocUnsafeSlow(PIECE);
  const hash = createHash('sha256');
  const fh = await open(path, 'r');
  try {
    for (;;) {
      signal.throwIfAborted();
      const { bytesRead } = await fh.read(buffer, 0, PIECE, null);
      if (bytesRead === 0) break;
      hash.update(buffer.subarray(0, bytesRead));
    }
  } finally {
    await fh.close();
  }
  return hash.digest('hex');
}

async function runDemo(ctx: CliContext, options: DemoOptions): Promise<void> {
  const size = parseSize(options.size ?? '24MiB', 'demo file size');
  if (size < 1 || size > MAX_DEMO_SIZE) {
    throw new ArozError('ERR_INVALID_SIZE', `The demo file size "${options.size}" must be 1 byte to 4 GiB`);
  }
  const chunkSize = checkChunkSize(parseSize(options.chunkSize ?? '4MiB', 'chunk size'), options.chunkSize);
  const started = performance.now();
  const say = (text: string) => ctx.out.info(text);
  const { signal } = ctx;

  say('This demo runs three arozdfs nodes on this machine, each in its own process with its own home.');
  say('Nothing leaves this machine: they listen on 127.0.0.2, 127.0.0.3 and 127.0.0.4 only.');
  say('Making the homes of alpha, beta and gamma: each gets a node UUID and an RSA key pair…');
  const cluster = await LocalCluster.create(['alpha', 'beta', 'gamma'], { signal, prefix: 'arozdfs-demo-' });
  try {
    const [alpha, beta, gamma] = cluster.nodes as [LocalNode, LocalNode, LocalNode];
    const nameOf = (uuid: string) => cluster.nodes.find((n) => n.uuid === uuid)?.name ?? uuid;
    say(`  in ${cluster.root}`);
    say('Pairing them: each node now trusts the other two public keys, and no one else.');
    say(
      '  (Between machines a person does this: "arozdfs keys show" on one, "arozdfs peers add -" on the other.)',
    );
    for (const node of [beta, gamma]) {
      await cluster.start(node, { signal });
      say(`Started ${node.name} on ${node.host}:${node.port}.`);
    }
    await cluster.start(alpha, { peers: [beta, gamma], signal });
    say(`Started alpha on ${alpha.host}:${alpha.port}, told where beta and gamma are (--peer).`);

    const file = join(cluster.root, 'data.bin');
    const sha256 = await writeRandomFile(file, size, signal);
    say(`Wrote a ${formatSize(size)} file of random bytes: data.bin, SHA-256 ${sha256.slice(0, 16)}…`);

    say(
      `Uploading it from alpha in ${formatSize(chunkSize)} chunks. Every chunk goes to two different nodes:`,
    );
    say('  each chunk picks its pair from the file id and every node’s free space, so files spread out.');
    const on = { ...ctx, home: alpha.home };
    const index = join(cluster.root, 'data.bin.index.json');
    const upload = await submitJob(on, 'upload', { file, index, chunkSize });
    const uploaded = (await followJob(on, upload.id, { cancelOnInterrupt: true })).result ?? {};
    const placement = (uploaded['placement'] ?? []) as Array<{ i: number; uuid: string; holders: string[] }>;
    say(`Stored as ${placement.length} chunks. Where each chunk lives (the signed index keeps this list):`);
    for (const chunk of placement) say(`  chunk ${chunk.i} → ${chunk.holders.map(nameOf).join(' and ')}`);
    say('The index (data.bin.index.json) is signed by alpha: keep it, it is the way back to the file.');

    const held = (node: LocalNode) => placement.filter((c) => c.holders.includes(node.uuid));
    const victim = held(gamma).length >= held(beta).length ? gamma : beta;
    const hit = held(victim).map((c) => c.i);
    say(`Killing ${victim.name} with SIGKILL, as if its power went out.`);
    say(`  Chunks ${hit.join(', ') || 'none'} lose one of their two copies.`);
    await cluster.kill(victim);

    const report = await runCheck(on, index, false);
    const { healthy, degraded, lost } = report.summary;
    say(`Asked alpha which copies it can reach now ("arozdfs check"): ${healthy} chunks healthy,`);
    say(`  ${degraded} degraded (one copy left), ${lost} lost.`);

    const out = join(cluster.root, 'downloaded', 'data.bin');
    await mkdir(dirname(out));
    say(
      `Downloading the file back on alpha; the chunks ${victim.name} held must come from their other copy.`,
    );
    const download = await submitJob(on, 'download', { index, out });
    const downloaded = (await followJob(on, download.id, { cancelOnInterrupt: true })).result ?? {};
    const problems = (downloaded['problems'] ?? []) as unknown[];
    say(`  Done: ${problems.length} request(s) to ${victim.name} failed, and alpha went to the other copy.`);

    const got = await hashFile(out, signal);
    const identical = got === sha256;
    say(`SHA-256 of the original:   ${sha256}`);
    say(`SHA-256 of the download:   ${got}`);
    if (!identical) {
      throw new ArozError('ERR_FILE_HASH', `The demo's downloaded file differs from the original ("${got}")`);
    }
    say(`Identical. Stopping alpha and ${victim === gamma ? 'beta' : 'gamma'} and removing ${cluster.root}…`);
    await cluster.destroy();
    const seconds = Math.round(performance.now() - started) / 1000;
    ctx.out.result(
      {
        identical,
        size,
        chunkSize,
        sha256,
        nodes: cluster.nodes.map((n) => ({ name: n.name, uuid: n.uuid, listen: `${n.host}:${n.port}` })),
        placement: placement.map((c) => ({ i: c.i, uuid: c.uuid, holders: c.holders })),
        killed: victim.uuid,
        check: report.summary,
        problems: problems.length,
        seconds,
      },
      `Done in ${seconds.toFixed(1)} s: with ${victim.name} gone, the file still came back identical.`,
    );
  } catch (err) {
    // A Ctrl-C on a terminal also reaches the nodes (one process group): whatever failed then, the
    // cause is the interruption.
    if (signal.aborted) throw signal.reason;
    throw err;
  } finally {
    await cluster.destroy();
  }
}

export const register: Register = (program, action) => {
  program
    .command('demo')
    .description('three local nodes, paired: upload, kill one, check, download, verify — narrated')
    .option('--size <size>', 'size of the generated file (default 24MiB)')
    .option('--chunk-size <size>', 'chunk size (default 4MiB)')
    .action(action<[], DemoOptions>((ctx, _args, options) => runDemo(ctx, options)));
};
