/**
 * Runs inside the network namespace that test/cluster/mdns-clients.test.ts makes (only `lo`, with
 * multicast): starts a real daemon on the home given, with mDNS on 127.0.0.1 and the standard port
 * 5353 (nothing else listens there in the namespace), then asks clients no one here wrote to find it
 * — python-zeroconf always, avahi-browse when `--avahi` is given (the namespace script started
 * avahi-daemon) — and prints one JSON line with the node's facts and what each client said.
 *
 * Usage: node netns-node.ts HOME DEADLINE_SECONDS [--avahi]
 */
import { execFile, spawn } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { instanceName } from '../../../src/cluster/mdns-packets.ts';
import { Daemon } from '../../../src/node/daemon.ts';

const [home, deadlineText, avahiFlag] = process.argv.slice(2);
const seconds = Number(deadlineText);
const run = promisify(execFile);

/** Lines of `avahi-browse -a -r -p` until our instance is resolved (or the deadline passes). */
function avahiBrowse(instance: string, signal: AbortSignal): Promise<string[]> {
  return new Promise((resolve) => {
    const child = spawn('avahi-browse', ['-a', '-r', '-p'], { stdio: ['ignore', 'pipe', 'pipe'], signal });
    const lines: string[] = [];
    let rest = '';
    const done = () => {
      child.kill();
      resolve(lines);
    };
    child.stdout.setEncoding('utf8').on('data', (text: string) => {
      const parts = (rest + text).split('\n');
      rest = parts.pop() ?? '';
      lines.push(...parts);
      if (parts.some((l) => l.startsWith('=;') && l.includes(`;${instance};_arozdfs._tcp;`))) done();
    });
    child.stderr.setEncoding('utf8').on('data', (text: string) => lines.push(`stderr: ${text.trim()}`));
    child.on('error', () => resolve(lines));
    child.on('close', () => resolve(lines));
  });
}

const daemon = await Daemon.start({
  home: home!,
  listen: '0.0.0.0:0',
  discovery: { interface: '127.0.0.1', bind: '0.0.0.0', port: 5353 },
});
try {
  const uuid = daemon.nodeUuid;
  const name = daemon.home.config.name;
  const instance = instanceName(name, uuid);
  const deadline = AbortSignal.timeout(seconds * 1000);
  const zeroconf = await run(
    '/usr/bin/python3',
    [join(import.meta.dirname, 'zeroconf-probe.py'), String(seconds)],
    { signal: deadline },
  ).then(
    ({ stdout }) => JSON.parse(stdout) as unknown,
    (err: Error) => ({ error: err.message }),
  );
  const avahi = avahiFlag === '--avahi' ? await avahiBrowse(instance, deadline) : null;
  const result = {
    node: { uuid, name, instance, port: daemon.server.address().port, cluster: daemon.cluster.instance },
    zeroconf,
    avahi,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
} finally {
  await daemon.close();
}
