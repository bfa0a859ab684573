/**
 * Cluster services (docs/cluster.md): how nodes find each other and where a trusted
 * node is now. mDNS discovery announces this node and lists the visible ones; signed address records
 * carry each node's own statement of its addresses, with a persisted, strictly increasing seq; the
 * address book keeps, per trusted node UUID, the candidate addresses to dial, ordered by how they were
 * learnt, with backoff; heartbeats mark peers online and offline; the self-address watcher notices
 * this node's own addresses changing.
 *
 * It must never create or change trust (announcements and records are hints or facts about trusted
 * nodes, never a reason to trust), never let a hint replace or outrank an address a pinned handshake
 * verified, never keep unbounded state for anything the network says, never multicast anywhere but
 * the interface it was given, and never print.
 */
export {
  type AcceptOutcome,
  type AcceptResult,
  AddressBook,
  type AddressBookOptions,
  BOOK_LIMITS,
  type BookLimits,
  type NodeState,
  type Resolution,
  type StateChange,
} from './address-book.ts';
export { type AddressSource, type Candidate, type LearntSource, SOURCE_RANK } from './address-entry.ts';
export {
  type AddressRecord,
  type AddressRecordBody,
  decodeRecord,
  encodeRecord,
  type PinnedKeys,
  parseRecord,
  RECORD_ALG,
  RECORD_DOMAIN,
  RECORD_LIMITS,
  type RecordFields,
  recordPayload,
  signRecord,
  type VerifiedRecord,
  verifyRecord,
  verifyTrustedRecord,
} from './address-record.ts';
export { type ClassifyContext, classify, type Visibility } from './classify.ts';
export { Discovery, type DiscoveryOptions, type DiscoveryStats, MDNS_LOOPBACK } from './discovery.ts';
export { type DuplicateIdentity, DuplicateWatch, isDuplicateOfSelf } from './duplicate-watch.ts';
export {
  canonicalHost,
  endpointKey,
  type HostPort,
  isDialableHost,
  isLoopbackHost,
  localAddressFor,
  toEndpoint,
} from './endpoint.ts';
export { Heartbeat, type HeartbeatOptions } from './heartbeat.ts';
export {
  type Announcement,
  instanceName,
  PROTOCOL_VERSION,
  SERVICE,
  type SelfAnnouncement,
  shortFingerprint,
} from './mdns-packets.ts';
export { AddressWatcher, type AddressWatcherOptions, advertisedAddresses } from './self-addresses.ts';
export { SeqStore } from './seq-store.ts';
export { type VisibleNode, VisibleTable } from './visible-table.ts';
