import type { NetworkInterfaceInfo } from 'node:os';
import { type TestContext, test } from 'node:test';
import { localAddressFor } from '../../src/cluster/endpoint.ts';
import { AddressWatcher, advertisedAddresses, type InterfaceList } from '../../src/cluster/self-addresses.ts';

function nic(address: string, internal = false, scopeid = 0): NetworkInterfaceInfo {
  const v6 = address.includes(':');
  return {
    address,
    netmask: v6 ? 'ffff:ffff:ffff:ffff::' : '255.255.255.0',
    family: v6 ? 'IPv6' : 'IPv4',
    mac: '00:00:00:00:00:00',
    internal,
    cidr: null,
    ...(v6 ? { scopeid } : {}),
  } as NetworkInterfaceInfo;
}

const machine: InterfaceList = {
  lo: [nic('127.0.0.1', true), nic('::1', true)],
  eth0: [nic('192.168.1.20'), nic('fe80::1', false, 2), nic('2001:db8::20')],
  wlan0: [nic('10.0.0.7')],
};

test('advertisedAddresses(): a node bound to one IP has that address; a wildcard has every external one', (t: TestContext) => {
  t.assert.deepStrictEqual(advertisedAddresses({ host: '127.0.0.2', port: 7420 }, machine), [
    { host: '127.0.0.2', port: 7420 },
  ]);
  t.assert.deepStrictEqual(advertisedAddresses({ host: '0.0.0.0', port: 7420 }, machine), [
    { host: '10.0.0.7', port: 7420 },
    { host: '192.168.1.20', port: 7420 },
  ]);
  t.assert.deepStrictEqual(
    advertisedAddresses({ host: '::', port: 7420 }, machine).map((e) => e.host),
    ['10.0.0.7', '192.168.1.20', '2001:db8::20'],
    'IPv6 link-local addresses need a zone and are left out',
  );
  t.assert.deepStrictEqual(advertisedAddresses({ host: '0.0.0.0', port: 7420 }, { lo: machine['lo'] }), [
    { host: '127.0.0.1', port: 7420 },
  ]);
});

test('localAddressFor(): a node bound to one IP dials out from it; a wildcard lets the system choose', (t: TestContext) => {
  t.assert.strictEqual(localAddressFor('127.0.0.3'), '127.0.0.3');
  t.assert.strictEqual(localAddressFor('0.0.0.0'), undefined);
  t.assert.strictEqual(localAddressFor('::'), undefined);
});

test('AddressWatcher.check() reports a change of this node’s addresses once', (t: TestContext) => {
  let current: InterfaceList = machine;
  const watcher = new AddressWatcher({ listen: { host: '0.0.0.0', port: 7420 }, interfaces: () => current });
  const seen: string[][] = [];
  watcher.on('change', (list) => seen.push(list.map((e) => e.host)));
  t.assert.strictEqual(watcher.check(), false);
  current = { ...machine, wlan0: [nic('10.0.0.8')] };
  t.assert.strictEqual(watcher.check(), true);
  t.assert.strictEqual(watcher.check(), false);
  t.assert.deepStrictEqual(seen, [['10.0.0.8', '192.168.1.20']]);
  watcher.close();
});
