import type { RemoteInfo } from 'node:dgram';
import { type TestContext, test } from 'node:test';
import type { Answer } from 'dns-packet';
import {
  announcementPacket,
  asksForUs,
  instanceName,
  parseAnnouncements,
  type SelfAnnouncement,
} from '../../src/cluster/mdns-packets.ts';
import { newUuid } from '../../src/uuid.ts';
import { testRandom } from '../helpers/random.ts';

const from = { address: '127.0.0.9', family: 'IPv4', port: 5353, size: 0 } as RemoteInfo;
const self: SelfAnnouncement = {
  uuid: newUuid(),
  label: 'Living room NAS',
  host: '0.0.0.0',
  port: 7420,
  fingerprint: 'SHA256:AbCdEfGhIjKlMnOpQrStUvWxYz0123456789+/abcde',
  instance: newUuid(),
  addresses: ['192.168.1.20'],
};

function txtOf(fields: string[]): Answer[] {
  return [{ name: `x-${testRandom()}._arozdfs._tcp.local`, type: 'TXT', ttl: 120, data: fields }];
}

test('parseAnnouncements() reads back what announcementPacket() says; a wildcard listener is found by its A record', (t: TestContext) => {
  const [seen] = parseAnnouncements(announcementPacket(self, 120), from, 1);
  t.assert.deepStrictEqual(seen, {
    uuid: self.uuid,
    name: `Living room NAS-${self.uuid.slice(0, 8)}`,
    host: '192.168.1.20',
    port: 7420,
    fingerprintShort: 'AbCdEfGhIjKlMnOp',
    instance: self.instance,
    protocol: 1,
    from: '127.0.0.9',
    seenAt: 1,
    ttl: 120,
  });
  const [withoutA] = parseAnnouncements({ answers: announcementPacket(self, 0).answers }, from, 1);
  t.assert.deepStrictEqual(
    [withoutA?.host, withoutA?.ttl],
    ['127.0.0.9', 0],
    'else the packet source; TTL 0 is a goodbye',
  );
});

test('parseAnnouncements() drops announcements that break a rule, and reads at most 8 per packet', (t: TestContext) => {
  const good = [
    `id=${self.uuid}`,
    `inst=${self.instance}`,
    'port=7420',
    'fp=AbCdEfGhIjKlMnOp',
    'v=1',
    'addr=10.0.0.1',
  ];
  const broken = [
    good.map((f) => (f.startsWith('id=') ? 'id=../../etc/passwd' : f)),
    good.map((f) => (f.startsWith('inst=') ? `inst=${self.instance.toUpperCase()}` : f)),
    good.map((f) => (f.startsWith('port=') ? 'port=0' : f)),
    good.map((f) => (f.startsWith('fp=') ? 'fp=<script>alert(1)' : f)),
    good.map((f) => (f.startsWith('v=') ? 'v=x' : f)),
    good.filter((f) => !f.startsWith('id=')),
  ];
  for (const fields of broken)
    t.assert.deepStrictEqual(parseAnnouncements({ answers: txtOf(fields) }, from, 1), []);
  const firstWins = parseAnnouncements({ answers: txtOf([...good, 'addr=10.0.0.2']) }, from, 1);
  t.assert.strictEqual(firstWins[0]?.host, '10.0.0.1');
  const many = Array.from({ length: 20 }, () => txtOf(good)).flat();
  t.assert.strictEqual(parseAnnouncements({ answers: many }, from, 1).length, 8);
});

test('instanceName() is <label>-<uuid8>, at most 63 bytes, with no dots to split the DNS name', (t: TestContext) => {
  const uuid = newUuid();
  t.assert.strictEqual(instanceName('nas.local', uuid), `nas-local-${uuid.slice(0, 8)}`);
  const long = instanceName('é'.repeat(60), uuid);
  t.assert.ok(Buffer.byteLength(long) <= 63 && long.endsWith(uuid.slice(0, 8)));
  t.assert.strictEqual(instanceName('\u202e', uuid), `arozdfs-${uuid.slice(0, 8)}`);
});

test('announcementPacket() names the service type under _services._dns-sd._udp.local (RFC 6763 §9), except in the goodbye', (t: TestContext) => {
  const enumeration = (ttl: number) =>
    announcementPacket(self, ttl).answers.filter((a) => a.name === '_services._dns-sd._udp.local');
  t.assert.deepStrictEqual(enumeration(120), [
    { name: '_services._dns-sd._udp.local', type: 'PTR', ttl: 120, data: '_arozdfs._tcp.local' },
  ]);
  // Other nodes still offer the type: a goodbye must not make caches forget it.
  t.assert.deepStrictEqual(enumeration(0), []);
});

test("asksForUs() answers service-type enumeration, the service, the instance and the SRV target's address", (t: TestContext) => {
  const asks = (name: string, type: string) =>
    asksForUs({ type: 'query', questions: [{ name, type } as never] }, self);
  const instance = `${instanceName(self.label, self.uuid)}._arozdfs._tcp.local`;
  t.assert.deepStrictEqual(
    [
      asks('_services._dns-sd._udp.local', 'PTR'),
      asks('_services._dns-sd._udp.local', 'ANY'),
      asks('_arozdfs._tcp.local', 'PTR'),
      asks(instance.toUpperCase(), 'SRV'),
      asks(`arozdfs-${self.uuid}.local`, 'A'),
    ],
    [true, true, true, true, true],
  );
  t.assert.deepStrictEqual(
    [
      asks('_services._dns-sd._udp.local', 'TXT'),
      asks('_http._tcp.local', 'PTR'),
      asks(`arozdfs-${self.uuid}.local`, 'TXT'),
      asks(`arozdfs-${newUuid()}.local`, 'A'),
    ],
    [false, false, false, false],
  );
});
