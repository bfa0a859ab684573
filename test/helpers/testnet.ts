/**
 * An in-process N-node test cluster: real daemons (real homes, keys, TLS, disks) on 127.0.0.2,
 * 127.0.0.3, … with port 0, paired with each other both ways, each knowing the others' addresses.
 * Everything is stopped and removed after the test (LIFO).
 */
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, type TestContext } from 'node:test';
import { initHome } from '../../src/home/init.ts';
import { pairHomes } from '../../src/home/pair.ts';
import { Daemon } from '../../src/node/daemon.ts';
import type { DaemonOptions } from '../../src/node/daemon-options.ts';
import { teardown, tmpDir } from './context.ts';

export interface TestNode {
  daemon: Daemon;
  home: string;
  uuid: string;
  host: string;
}

/**
 * Registers hooks that make `count` node homes once per test file (RSA keys are slow); each test
 * gets fresh copies of them.
 */
export function testnetTemplates(count: number): { homes(t: TestContext): Promise<string[]> } {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'arozdfs-testnet-'));
    for (let i = 0; i < count; i++) await initHome(join(dir, `node${i}`), { name: `node${i}` });
  });
  after(() => rm(dir, { recursive: true, force: true }));
  return {
    async homes(t: TestContext) {
      const root = await tmpDir(t);
      const homes: string[] = [];
      for (let i = 0; i < count; i++) {
        const home = join(root, `node${i}`);
        await cp(join(dir, `node${i}`), home, { recursive: true, preserveTimestamps: true });
        homes.push(home);
      }
      return homes;
    },
  };
}

/** Pairs every home with every other one (both ways), as a person would with `peers add`. */
export const pairAll = pairHomes;

/** Starts a daemon per home on 127.0.0.(2+i) and tells each the others' addresses. */
export async function startTestnet(
  t: TestContext,
  homes: string[],
  options: Partial<DaemonOptions> = {},
): Promise<TestNode[]> {
  const nodes: TestNode[] = [];
  for (const [i, home] of homes.entries()) {
    const host = `127.0.0.${2 + i}`;
    // The web UI (when asked for) listens on the node's own address unless the test names one.
    const web =
      options.web === undefined || options.web === false
        ? false
        : { ...options.web, address: options.web.address || `${host}:0` };
    const daemon = await Daemon.start({ discovery: false, ...options, home, listen: `${host}:0`, web });
    teardown(t).defer(() => daemon.close(1_000));
    nodes.push({ daemon, home, uuid: daemon.nodeUuid, host });
  }
  for (const node of nodes) {
    for (const other of nodes) {
      if (other !== node)
        node.daemon.addPeerAddress(other.uuid, {
          host: other.host,
          port: other.daemon.server.address().port,
        });
    }
  }
  return nodes;
}
