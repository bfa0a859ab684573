/**
 * The event stream (GET /api/events, Server-Sent Events): job progress, cluster changes, pairing hints
 * and this browser's downloads are pushed by the node. Pages `watch` what they show: they load it once,
 * again on each event of the kinds they name, and poll only while the stream is down (a proxy that
 * drops it, too many tabs), so the page never depends on it.
 */
import { poll, state } from './api.js';

const TYPES = ['cluster', 'hints', 'job', 'download', 'files'];
/** Polling while the stream is up: a slow safety net only. */
const LIVE_POLL_MS = 60_000;
const RETRY_MS = 5_000;

const handlers = new Map(TYPES.map((type) => [type, new Set()]));
const statusListeners = new Set();
let source = null;
let live = false;
let retry = null;

function setLive(value) {
  if (live === value) return;
  live = value;
  document.documentElement.dataset.live = value ? 'yes' : 'no';
  for (const fn of statusListeners) fn(value);
}

/** Opens the stream (after login); reconnects by itself while logged in. */
export function connectEvents() {
  if (source !== null || typeof EventSource !== 'function') return;
  clearTimeout(retry);
  source = new EventSource('/api/events');
  source.onopen = () => setLive(true);
  source.onerror = () => {
    setLive(false);
    if (source?.readyState === EventSource.CLOSED) {
      source = null;
      // Refused (logged out, too many streams): try again later while the page is logged in.
      if (state.csrf !== null) retry = setTimeout(connectEvents, RETRY_MS);
    }
  };
  for (const type of TYPES) {
    source.addEventListener(type, (e) => {
      let data = null;
      try {
        data = JSON.parse(e.data);
      } catch {
        return;
      }
      for (const fn of handlers.get(type)) fn(data);
    });
  }
}

/** Closes the stream (logout). */
export function disconnectEvents() {
  clearTimeout(retry);
  source?.close();
  source = null;
  setLive(false);
}

export const isLive = () => live;

/** Calls fn(data) for each event of `type` until signal aborts. */
export function onEvent(type, fn, signal) {
  handlers.get(type).add(fn);
  signal.addEventListener('abort', () => handlers.get(type).delete(fn), { once: true });
}

/**
 * Runs fn(signal) now, again on every event of `types`, and every `everyMs` while the stream is down
 * (every minute while it is up). Runs never overlap. Returns { now() } to ask for a run.
 */
export function watch(signal, everyMs, types, fn) {
  const poller = poll(signal, () => (live ? LIVE_POLL_MS : everyMs), fn);
  for (const type of types) onEvent(type, () => poller.now(), signal);
  const onStatus = () => poller.now();
  statusListeners.add(onStatus);
  signal.addEventListener('abort', () => statusListeners.delete(onStatus), { once: true });
  return poller;
}
