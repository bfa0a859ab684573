/** Shared bits of the cluster tests: signed records, a private mDNS port, waiting for an event. */
import { randomInt } from 'node:crypto';
import { createSocket } from 'node:dgram';
import makeMdns from 'multicast-dns';
import { type AddressRecord, signRecord } from '../../src/cluster/address-record.ts';
import { MDNS_LOOPBACK } from '../../src/cluster/discovery.ts';
import type { HostPort } from '../../src/cluster/endpoint.ts';
import type { KeyPair } from '../../src/keys/index.ts';
import { newUuid } from '../../src/uuid.ts';

export const T0 = Date.parse('2026-11-26T12:00:00.000Z');

export interface RecordInput {
  node: string;
  seq: number;
  addresses?: HostPort[];
  instance?: string;
  now?: number;
  ttlMs?: number;
}

export function makeRecord(keyPair: KeyPair, input: RecordInput): AddressRecord {
  return signRecord(
    {
      node: input.node,
      seq: input.seq,
      addresses: input.addresses ?? [{ host: '127.0.0.2', port: 7420 }],
      instance: input.instance ?? newUuid(),
      now: input.now ?? T0,
      ...(input.ttlMs !== undefined ? { ttlMs: input.ttlMs } : {}),
    },
    keyPair,
  );
}

/**
 * A UDP port for one test's mDNS traffic, away from 5353, so tests running side by side (and any real
 * responder on this machine) never hear each other.
 */
export function mdnsTestPort(): number {
  return randomInt(20_000, 60_000);
}

/** Resolves with the first event `name` whose arguments pass `accept`; rejects when `signal` aborts. */
export function waitForEvent<T>(
  emitter: {
    on(name: string, fn: (value: T) => void): unknown;
    off(name: string, fn: (value: T) => void): unknown;
  },
  name: string,
  accept: (value: T) => boolean,
  signal: AbortSignal,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const onEvent = (value: T) => {
      if (!accept(value)) return;
      emitter.off(name, onEvent);
      signal.removeEventListener('abort', onAbort);
      resolve(value);
    };
    const onAbort = () => {
      emitter.off(name, onEvent);
      reject(new Error(`No "${name}" event came`, { cause: signal.reason }));
    };
    emitter.on(name, onEvent);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * A raw multicast-dns instance for sending forged packets, on the loopback interface only: it refuses
 * to be used unless multicast is pinned to 127.0.0.1 (so nothing reaches a real network).
 */
export async function loopbackMdns(port: number): Promise<ReturnType<typeof makeMdns>> {
  const socket = createSocket({ type: 'udp4', reuseAddr: true });
  const mdns = makeMdns({ socket, port, ...MDNS_LOOPBACK, ttl: 1 });
  await new Promise<void>((resolve, reject) => {
    mdns.once('ready', resolve);
    mdns.once('error', reject);
  });
  try {
    socket.setMulticastInterface(MDNS_LOOPBACK.interface);
  } catch (err) {
    await new Promise<void>((resolve) => mdns.destroy(() => resolve()));
    throw err;
  }
  return mdns;
}

/**
 * Why multicast on the loopback interface does not work on this machine, or undefined when it does
 * (a packet sent on 127.0.0.1 comes back). Tests that need it skip with this reason instead of failing.
 */
export async function loopbackMulticastProblem(): Promise<string | undefined> {
  let mdns: ReturnType<typeof makeMdns> | undefined;
  try {
    mdns = await loopbackMdns(mdnsTestPort());
    const probe = `probe-${randomInt(1e9)}.local`;
    const heard = new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 10_000); // when multicast works, it is back at once
      mdns?.on('response', (packet) => {
        if ((packet.answers ?? []).some((a) => a.name === probe)) {
          clearTimeout(timer);
          resolve(true);
        }
      });
    });
    mdns.respond({ answers: [{ name: probe, type: 'A', ttl: 1, data: '127.0.0.1' }] });
    return (await heard) ? undefined : 'multicast sent on 127.0.0.1 never came back (no multicast on lo?)';
  } catch (err) {
    return `multicast on 127.0.0.1 is not possible here: ${(err as Error).message}`;
  } finally {
    await new Promise<void>((resolve) => (mdns ? mdns.destroy(() => resolve()) : resolve()));
  }
}
