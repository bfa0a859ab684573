/**
 * The Cluster page: this computer, the trusted computers and those seen on the network.
 */
import { api, refreshing } from './api.js';
import {
  address,
  ago,
  badge,
  card,
  cells,
  fact,
  facts,
  fill,
  h,
  hint,
  labelOf,
  note,
  p,
  size,
  sourceText,
  tableList,
} from './dom.js';
import { watch } from './live.js';
import { T } from './words.js';

// ---------------------------------------------------------------- Cluster

export function pageCluster(main, signal) {
  const self = card('This computer', p('muted', 'Loading…'));
  const nodeHeaders = ['Computer', 'State', 'Address', 'Last seen', 'Free space'];
  const nodes = tableList(nodeHeaders, 'No trusted computers yet: pair one on Host setup.', clusterRow);
  const seen = tableList(['Name', 'Address', 'Seen', 'Trust'], '', seenRow);
  const stale = note('warn');
  main.append(
    h('h1', 'Cluster'),
    p('lead', T.clusterLead),
    stale,
    self,
    card('Trusted computers', nodes.el),
    card('Seen on the network', p('hint', T.seen), seen.el),
  );
  const refresh = async () => {
    const cluster = await api('GET', '/api/cluster', undefined, signal);
    fill(self, ...selfInfo(cluster.self));
    nodes.sync(cluster.nodes, (n) => n.nodeUuid);
    const discovery = cluster.discovery ?? { enabled: false, nodes: [] };
    seen.empty.textContent = discovery.enabled ? 'No computer has announced itself yet.' : T.discoveryOff;
    seen.sync(discovery.enabled ? discovery.nodes : [], (n) => `${n.nodeUuid} ${address(n.address)}`);
  };
  watch(signal, 3000, ['cluster'], refreshing(stale, 'this page', refresh));
}

export function storesText(stores) {
  if (!Array.isArray(stores) || stores.length === 0) return ['No storage folder.'];
  return stores.map((s, i) =>
    s.online === false
      ? `Store ${i + 1}: offline`
      : `Store ${i + 1}: ${size(s.free)} free of ${size(s.capacity)}`,
  );
}

export function selfInfo(self) {
  const trash = self.trash;
  return [
    h('h2', 'This computer'),
    facts(
      fact('Name', self.name),
      fact('Computer ID', h('code', {}, self.nodeUuid)),
      fact('Listening at', address(self.listen)),
      fact(
        'Storage',
        h(
          'ul',
          { class: 'plain' },
          storesText(self.stores).map((t) => h('li', t)),
        ),
      ),
      fact('Trash', [
        h('span', { test: 'self-trash' }, trashText(trash)),
        trash &&
          hint(
            `Deleted pieces are kept ${graceText(trash.graceSeconds)}, then removed for good. Last emptied: ${ago(trash.purgedAt)}.`,
          ),
      ]),
      fact('Scrub', [
        h('span', { test: 'self-scrub' }, scrubText(self.scrub)),
        self.scrub &&
          hint(
            `This computer re-reads its pieces in the background; a damaged one is set aside. Last full pass: ${ago(self.scrub.lastPassAt)}.`,
          ),
      ]),
    ),
  ];
}

/** What a node's scrub found: `{corrupt, quarantined: {chunks, bytes}, state}`, else a dash. */
export function scrubText(scrub) {
  if (scrub === null || typeof scrub !== 'object' || typeof scrub.corrupt !== 'number') return '—';
  if (scrub.state === 'off') return 'off';
  const q = scrub.quarantined ?? { chunks: 0, bytes: 0 };
  if (scrub.corrupt === 0 && q.chunks === 0)
    return scrub.state === 'paused' ? 'no damage found (paused)' : 'no damage found';
  return `${scrub.corrupt} damaged piece${scrub.corrupt === 1 ? '' : 's'} found; ${q.chunks} set aside (${size(q.bytes)})`;
}

/** What a trash holds: `{chunks, bytes}` from the node, else a dash. */
export function trashText(trash) {
  if (trash === null || typeof trash !== 'object' || typeof trash.chunks !== 'number') return '—';
  if (trash.chunks === 0) return 'empty';
  return `${size(trash.bytes)} in ${trash.chunks} deleted piece${trash.chunks === 1 ? '' : 's'}`;
}

export function graceText(seconds) {
  if (typeof seconds !== 'number') return 'for a while';
  if (seconds % 86400 === 0 && seconds > 0) return `${seconds / 86400} day${seconds === 86400 ? '' : 's'}`;
  if (seconds % 3600 === 0 && seconds > 0) return `${seconds / 3600} h`;
  if (seconds % 60 === 0 && seconds > 0) return `${seconds / 60} min`;
  return `${seconds} s`;
}

export const NODE_STATE = {
  online: ['ok', 'online'],
  offline: ['bad', 'offline'],
  unknown: ['muted', 'unknown'],
};

export function clusterRow(node) {
  const td = cells(5);
  const update = (n) => {
    const name = labelOf(n);
    const alias = n.name && n.name !== name && h('span', { class: 'hint' }, ` (calls itself ${n.name})`);
    fill(td[0], h('strong', {}, name), alias, h('br'), h('code', { class: 'small' }, n.nodeUuid));
    const [kind, text] = NODE_STATE[n.state] ?? NODE_STATE.unknown;
    // No address known yet (just trusted, discovery off): say what to do, not the raw error.
    const noAddress = n.state === 'unknown' && !n.address;
    const error = noAddress
      ? hint('No address is known for it yet: start it, or give its address on Host setup.')
      : n.error && hint(typeof n.error === 'string' ? n.error : n.error.message);
    fill(td[1], badge(kind, text, 'node-state'), error);
    fill(td[2], address(n.address), n.source && hint(sourceText(n.source)));
    td[3].textContent = ago(n.lastSeen);
    const count = Array.isArray(n.stores) ? n.stores.length : 0;
    const free =
      typeof n.free === 'number' ? `${size(n.free)}${count > 1 ? ` on ${count} stores` : ''}` : '—';
    const trash = n.trash && n.trash.chunks > 0 && hint(`trash: ${trashText(n.trash)}`);
    const scrub = n.scrub && h('span', { class: 'hint', test: 'node-scrub' }, `scrub: ${scrubText(n.scrub)}`);
    fill(td[4], free, trash, scrub);
  };
  return { el: h('tr', { test: 'cluster-node', 'data-uuid': node.nodeUuid }, td), update };
}

export const SEEN_TRUST = {
  trusted: ['ok', 'trusted'],
  untrusted: ['muted', 'not trusted — pair on Host setup to use it'],
  mismatch: [
    'bad',
    'KEY MISMATCH — it shows a different key than the one trusted for it. It may be an impostor.',
  ],
  self: ['muted', 'this computer'],
  duplicate: ['warn', 'duplicate — another computer announces the same ID'],
};

export function seenRow(node) {
  const td = cells(4);
  const update = (n) => {
    fill(td[0], h('strong', {}, n.name || '(no name)'), h('br'), h('code', { class: 'small' }, n.nodeUuid));
    td[1].textContent = address(n.address);
    td[2].textContent = ago(n.seenAt);
    const [kind, text] = SEEN_TRUST[n.trust] ?? ['muted', String(n.trust)];
    fill(td[3], badge(kind, text, 'seen-trust'));
  };
  return { el: h('tr', { test: 'seen-node', 'data-uuid': node.nodeUuid }, td), update };
}
