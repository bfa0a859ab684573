/**
 * Clients no one here wrote find a real node over mDNS: python-zeroconf (Debian's python3-zeroconf)
 * and avahi-browse (avahi-utils, with its own avahi-daemon and D-Bus). Each test makes a network
 * namespace (`unshare`: a new network, mount and PID namespace; only `lo`, with a multicast route),
 * so the standard port 5353 is free and nothing reaches a real network; when the namespace's first
 * process ends, the kernel ends every process in it. The client must list `_arozdfs._tcp` by
 * service-type enumeration (RFC 6763 §9: `ZeroconfServiceTypes.find`, `avahi-browse -a`), browse it
 * and resolve the node's port, address and TXT keys.
 *
 * A missing client skips its test with the reason, except under CI=true (.ci/run installs them).
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { promisify } from 'node:util';
import { homeTemplate } from '../helpers/homes.ts';

const run = promisify(execFile);
const template = homeTemplate('probe');
const CLIENT_SECONDS = 30;

async function works(file: string, args: string[]): Promise<boolean> {
  try {
    await run(file, args, { timeout: 20_000 });
    return true;
  } catch {
    return false;
  }
}

const ci = process.env['CI'] === 'true';
const namespace = (await works('unshare', ['-n', '-m', '-p', '-f', '--kill-child', 'true']))
  ? undefined
  : 'cannot make a network namespace here (unshare -n needs root)';
const zeroconf =
  (await works('/usr/bin/python3', ['-c', 'import zeroconf'])) || ci
    ? undefined
    : 'python-zeroconf is not installed (apt-get install python3-zeroconf)';
const avahi =
  (await works('sh', [
    '-c',
    'command -v avahi-browse && command -v avahi-daemon && command -v dbus-daemon',
  ])) || ci
    ? undefined
    : 'avahi is not installed (apt-get install avahi-daemon avahi-utils)';

/** Starts a node in a fresh namespace, lets the clients look for it, returns what they said. */
async function probeInNamespace(t: TestContext, withAvahi: boolean) {
  const home = await template.copy(t);
  const script = [
    'set -e',
    'ip link set lo up',
    'ip route add 224.0.0.0/4 dev lo',
    ...(withAvahi
      ? [
          // avahi-daemon and its D-Bus get a /run of their own (this mount namespace only).
          'mount -t tmpfs tmpfs /run',
          'mkdir -p /run/dbus /run/avahi-daemon',
          'dbus-daemon --system --fork --nopidfile',
          'avahi-daemon --no-drop-root --no-chroot --no-rlimits -D',
        ]
      : []),
    'exec "$@"',
  ].join('\n');
  const runner = join(import.meta.dirname, 'clients', 'netns-node.ts');
  const { stdout } = await run(
    'unshare',
    [
      '-n',
      '-m',
      '-p',
      '-f',
      '--kill-child',
      'bash',
      '-c',
      script,
      'netns',
      process.execPath,
      runner,
      home,
      String(CLIENT_SECONDS),
      ...(withAvahi ? ['--avahi'] : []),
    ],
    { timeout: (CLIENT_SECONDS + 60) * 1000, killSignal: 'SIGKILL' },
  );
  const lines = stdout.trim().split('\n');
  return JSON.parse(lines.at(-1) ?? '{}') as {
    node: { uuid: string; name: string; instance: string; port: number; cluster: string };
    zeroconf: {
      types: string[];
      instances: string[];
      info: {
        name: string;
        port: number;
        addresses: string[];
        properties: Record<string, string | null>;
      } | null;
    };
    avahi: string[] | null;
  };
}

test('python-zeroconf lists _arozdfs._tcp among the service types, browses the node and resolves its port and address', {
  skip: namespace ?? zeroconf ?? false,
}, async (t: TestContext) => {
  const { node, zeroconf: seen } = await probeInNamespace(t, false);
  const fqdn = `${node.instance}._arozdfs._tcp.local.`;
  t.assert.ok(seen.types.includes('_arozdfs._tcp.local.'), `types listed: ${JSON.stringify(seen.types)}`);
  t.assert.deepStrictEqual(seen.instances, [fqdn]);
  t.assert.ok(seen.info !== null, 'the instance resolves');
  t.assert.strictEqual(seen.info.port, node.port);
  t.assert.deepStrictEqual(seen.info.addresses, ['127.0.0.1']);
  t.assert.strictEqual(seen.info.properties['id'], node.uuid);
  t.assert.strictEqual(seen.info.properties['port'], String(node.port));
  t.assert.strictEqual(seen.info.properties['inst'], node.cluster);
});

test('avahi-browse -a lists and resolves the node (service-type enumeration through avahi-daemon)', {
  skip: namespace ?? avahi ?? false,
}, async (t: TestContext) => {
  const { node, avahi: lines } = await probeInNamespace(t, true);
  t.assert.ok(lines !== null);
  // `+;lo;IPv4;<instance>;_arozdfs._tcp;local`: listed by browsing every type.
  t.assert.ok(
    lines.some((l) => l.startsWith(`+;lo;IPv4;${node.instance};_arozdfs._tcp;local`)),
    lines.join('\n'),
  );
  // `=;…;<host>;<address>;<port>;<txt>`: resolved.
  const resolved = lines.find((l) => l.startsWith(`=;lo;IPv4;${node.instance};_arozdfs._tcp;local;`));
  t.assert.ok(resolved !== undefined, lines.join('\n'));
  const fields = resolved.split(';');
  t.assert.deepStrictEqual(fields.slice(6, 9), [
    `arozdfs-${node.uuid}.local`,
    '127.0.0.1',
    String(node.port),
  ]);
  t.assert.ok(fields[9]?.includes(`"id=${node.uuid}"`));
});
