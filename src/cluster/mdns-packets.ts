/**
 * The DNS-SD form of an arozdfs announcement (docs/cluster.md), built and parsed without I/O.
 *
 * A node announces `_arozdfs._tcp.local`: a PTR to its instance `<label>-<uuid8>._arozdfs._tcp.local`,
 * an SRV (port, target `arozdfs-<uuid>.local`), A records for its addresses, and a TXT record with
 * everything a browser needs: `v` protocol version, `id` node UUID, `addr` listen address, `port`,
 * `fp` short key fingerprint, `inst` per-boot instance id. It also names the service type under
 * `_services._dns-sd._udp.local` (RFC 6763 §9), so a generic browser that enumerates service types
 * (`avahi-browse -a`, python-zeroconf) lists it. The parser takes only what fits these rules
 * (bounded counts and lengths, canonical UUIDs and IP literals) and drops the rest: announcements
 * come from anyone on the network and are hints, never trust.
 */
import type { RemoteInfo } from 'node:dgram';
import type { Answer, Packet, Question, TxtAnswer } from 'dns-packet';
import { FINGERPRINT_PREFIX, sanitizeLabel } from '../keys/index.ts';
import { isUuid } from '../uuid.ts';
import { canonicalHost, isDialableHost, isPort } from './endpoint.ts';

export const SERVICE = '_arozdfs._tcp.local';
/** The DNS-SD service type enumeration name (RFC 6763 §9): its PTR records name service types. */
export const SERVICE_TYPES = '_services._dns-sd._udp.local';
export const PROTOCOL_VERSION = 1;
/** Characters of the fingerprint body announced in TXT `fp` (96 bits: a hint, not a proof). */
export const SHORT_FINGERPRINT_LENGTH = 16;
/** Records of one packet looked at; the rest is ignored. */
const MAX_RECORDS_PER_PACKET = 64;
const MAX_ANNOUNCEMENTS_PER_PACKET = 8;
const SHORT_FP = /^[A-Za-z0-9+/]{16}$/;

/** What a node announces about itself. */
export interface SelfAnnouncement {
  uuid: string;
  /** The node's name; shown as the instance label. */
  label: string;
  /** Listen address (`0.0.0.0` or `::` for every interface: the A records then say where). */
  host: string;
  port: number;
  /** Full key fingerprint `SHA256:…`; only its first characters are announced. */
  fingerprint: string;
  instance: string;
  /** IPv4 addresses for the A records (the node's interface addresses). */
  addresses?: readonly string[];
}

/** One announcement as heard: a hint that a node may be reachable there. */
export interface Announcement {
  uuid: string;
  /** Instance label as announced (sanitized, ≤ 64 characters). */
  name: string;
  host: string;
  port: number;
  fingerprintShort: string;
  instance: string;
  protocol: number;
  /** Source address of the packet. */
  from: string;
  seenAt: number;
  /** TTL in seconds; 0 means the node said goodbye. */
  ttl: number;
}

export function shortFingerprint(fingerprint: string): string {
  const body = fingerprint.startsWith(FINGERPRINT_PREFIX)
    ? fingerprint.slice(FINGERPRINT_PREFIX.length)
    : fingerprint;
  return body.slice(0, SHORT_FINGERPRINT_LENGTH);
}

/** `<label>-<uuid8>`: at most 63 bytes, no dots or backslashes (they would split the DNS name). */
export function instanceName(label: string, uuid: string): string {
  const suffix = `-${uuid.slice(0, 8)}`;
  let clean = sanitizeLabel(label).replace(/[.\\]/g, '-');
  while (Buffer.byteLength(clean) > 63 - suffix.length) clean = Array.from(clean).slice(0, -1).join('');
  return `${clean || 'arozdfs'}${suffix}`;
}

/** The host name in our SRV record, whose A records are our addresses. */
export function targetName(uuid: string): string {
  return `arozdfs-${uuid}.local`;
}

/**
 * The response packet that announces `self` (`ttl` 0: the goodbye). With a TTL it also carries the
 * shared PTR `_services._dns-sd._udp.local` → `_arozdfs._tcp.local`; the goodbye leaves that one out,
 * as other nodes on the network still offer the service type.
 */
export function announcementPacket(self: SelfAnnouncement, ttl: number): Packet & { answers: Answer[] } {
  const fqdn = `${instanceName(self.label, self.uuid)}.${SERVICE}`;
  const target = targetName(self.uuid);
  const txt = [
    `v=${PROTOCOL_VERSION}`,
    `id=${self.uuid}`,
    `addr=${self.host}`,
    `port=${self.port}`,
    `fp=${shortFingerprint(self.fingerprint)}`,
    `inst=${self.instance}`,
  ];
  const answers: Answer[] = [
    { name: SERVICE, type: 'PTR', ttl, data: fqdn },
    { name: fqdn, type: 'SRV', ttl, flush: true, data: { port: self.port, target, priority: 0, weight: 0 } },
    { name: fqdn, type: 'TXT', ttl, flush: true, data: txt },
    ...(ttl > 0 ? [{ name: SERVICE_TYPES, type: 'PTR', ttl, data: SERVICE } as const] : []),
  ];
  const additionals: Answer[] = (self.addresses ?? [])
    .slice(0, 8)
    .map((address) => ({ name: target, type: 'A', ttl, flush: true, data: address }));
  return { type: 'response', answers, additionals };
}

/** The query a browser sends. */
export function browsePacket(): Packet & { questions: Question[] } {
  return { type: 'query', questions: [{ name: SERVICE, type: 'PTR' }] };
}

/**
 * True when a query asks for something we announce: the service types (PTR/ANY of
 * `_services._dns-sd._udp.local`), our service (PTR/ANY), anything about our instance, or the
 * addresses of our SRV target (A/ANY). The answer is the whole announcement either way.
 */
export function asksForUs(packet: Packet, self: SelfAnnouncement): boolean {
  const fqdn = `${instanceName(self.label, self.uuid)}.${SERVICE}`.toLowerCase();
  const target = targetName(self.uuid);
  return (packet.questions ?? []).slice(0, MAX_RECORDS_PER_PACKET).some((q) => {
    const name = q.name.toLowerCase().replace(/\.$/, '');
    const type = q.type as string;
    const pointer = type === 'PTR' || type === 'ANY';
    return (
      ((name === SERVICE || name === SERVICE_TYPES) && pointer) ||
      name === fqdn ||
      (name === target && (type === 'A' || type === 'ANY'))
    );
  });
}

/** The announcements a response packet carries (at most 8), each checked field by field. */
export function parseAnnouncements(packet: Packet, from: RemoteInfo, seenAt: number): Announcement[] {
  const records = [...(packet.answers ?? []), ...(packet.additionals ?? [])].slice(0, MAX_RECORDS_PER_PACKET);
  const suffix = `.${SERVICE}`;
  const found: Announcement[] = [];
  for (const record of records) {
    if (found.length >= MAX_ANNOUNCEMENTS_PER_PACKET) break;
    if (record.type !== 'TXT' || !record.name.toLowerCase().endsWith(suffix)) continue;
    const txt = txtFields(record);
    const uuid = txt.get('id');
    const instance = txt.get('inst');
    const port = Number(txt.get('port'));
    const fp = txt.get('fp') ?? '';
    const protocol = Number(txt.get('v'));
    if (!isUuid(uuid) || !isUuid(instance) || !isPort(port) || !SHORT_FP.test(fp)) continue;
    if (!Number.isInteger(protocol) || protocol < 1 || protocol > 999) continue;
    const host = hostOf(txt.get('addr'), record.name, records, from.address);
    if (host === undefined) continue;
    const name = sanitizeLabel(record.name.slice(0, -suffix.length));
    const ttl = Math.max(0, Math.min(record.ttl ?? 0, 3600));
    found.push({
      uuid,
      name,
      host,
      port,
      fingerprintShort: fp,
      instance,
      protocol,
      from: from.address,
      seenAt,
      ttl,
    });
  }
  return found;
}

function txtFields(record: TxtAnswer): Map<string, string> {
  const fields = new Map<string, string>();
  const parts = Array.isArray(record.data) ? record.data : [record.data];
  for (const part of parts.slice(0, 16)) {
    const text = typeof part === 'string' ? part : Buffer.from(part).toString('utf8');
    const eq = text.indexOf('=');
    if (eq <= 0 || text.length > 255) continue;
    const key = text.slice(0, eq).toLowerCase();
    if (!fields.has(key)) fields.set(key, text.slice(eq + 1)); // the first wins (RFC 6763 §6.4)
  }
  return fields;
}

/** TXT `addr` if it is a dialable IP; else an A record of the SRV target; else the packet's source. */
function hostOf(
  addr: string | undefined,
  fqdn: string,
  records: Answer[],
  source: string,
): string | undefined {
  const fromTxt = addr === undefined ? undefined : canonicalHost(addr);
  if (fromTxt !== undefined && isDialableHost(fromTxt)) return fromTxt;
  const srv = records.find((r) => r.type === 'SRV' && r.name.toLowerCase() === fqdn.toLowerCase());
  const target = srv?.type === 'SRV' ? srv.data.target.toLowerCase() : undefined;
  for (const r of records) {
    if (r.type === 'A' && target !== undefined && r.name.toLowerCase() === target && isDialableHost(r.data)) {
      return r.data;
    }
  }
  const fromSource = canonicalHost(source);
  return fromSource !== undefined && isDialableHost(fromSource) ? fromSource : undefined;
}
