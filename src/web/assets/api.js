/**
 * Talking to the daemon: JSON requests with the CSRF token, the upload request, error lines, actions and polling loops.
 */
import { button, field, h, hidden, p, say, setBusy } from './dom.js';

// ---------------------------------------------------------------- talking to the daemon

/** What the page knows; `onSessionEnded` is set by app.js (back to the login screen). */
export const state = {
  csrf: null,
  node: null,
  passwordFile: null,
  root: null,
  main: null,
  page: null,
  onSessionEnded: null,
};

export class ApiError extends Error {
  constructor(code, message, status) {
    super(message);
    this.code = code;
    this.status = status;
  }
}

/** Turns an answer into its JSON, or throws an ApiError carrying the daemon's message. */
export function readAnswer(status, retryAfter, text) {
  let data = null;
  try {
    data = text === '' ? null : JSON.parse(text);
  } catch {
    data = null;
  }
  if (status >= 200 && status < 300) return data;
  const error = data?.error ?? {};
  const code = typeof error.code === 'string' ? error.code : `HTTP_${status}`;
  let message = typeof error.message === 'string' ? error.message : `The node answered HTTP ${status}.`;
  const wait = Number.parseInt(retryAfter ?? '', 10);
  if (code === 'ERR_WEB_RATE_LIMITED' && Number.isFinite(wait)) {
    message = `Too many wrong tries. Wait ${wait} seconds, then try again.`;
  }
  if (status === 401 && code === 'ERR_WEB_LOGIN_REQUIRED') state.onSessionEnded?.();
  throw new ApiError(code, message, status);
}

export async function api(method, path, body, signal) {
  const headers = {};
  if (method !== 'GET') headers['X-CSRF-Token'] = state.csrf ?? '';
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const init = { method, headers, signal, credentials: 'same-origin', cache: 'no-store' };
  if (body !== undefined) init.body = JSON.stringify(body);
  let response;
  try {
    response = await fetch(path, init);
  } catch (err) {
    if (signal?.aborted) throw err;
    throw new ApiError('ERR_NETWORK', 'Cannot reach this arozdfs node. Is "arozdfs serve" still running?', 0);
  }
  return readAnswer(response.status, response.headers.get('Retry-After'), await response.text());
}

/**
 * Streams a File as the body of a PUT to `url` (never read into memory), reporting bytes sent.
 * `stop.abort` is set to a function that stops sending (the node then drops what it staged).
 */
export function sendBody(url, file, onProgress, stop) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    stop.abort = () => xhr.abort();
    xhr.open('PUT', url);
    xhr.setRequestHeader('X-CSRF-Token', state.csrf ?? '');
    xhr.setRequestHeader('Content-Type', 'application/octet-stream');
    xhr.upload.onprogress = (e) => onProgress(e.loaded, e.lengthComputable ? e.total : file.size);
    xhr.onload = () => {
      try {
        resolve(readAnswer(xhr.status, xhr.getResponseHeader('Retry-After'), xhr.responseText));
      } catch (err) {
        reject(err);
      }
    };
    xhr.onerror = () =>
      reject(new ApiError('ERR_NETWORK', 'The upload stopped: the connection was lost.', 0));
    xhr.onabort = () => reject(new ApiError('ERR_ABORTED', 'The upload was stopped.', 0));
    xhr.send(file);
  });
}

/** One file as one upload job (`options`: copies or ec, shift, encrypt), staged as it is sent. */
export function sendFile(file, options, onProgress, stop) {
  const query = new URLSearchParams({ name: file.name });
  for (const [key, value] of Object.entries(options)) {
    if (value !== undefined && value !== false) query.set(key, value === true ? '1' : String(value));
  }
  return sendBody(`/api/upload?${query}`, file, onProgress, stop);
}

// ---------------------------------------------------------------- errors and actions

/** One error line (role="alert"), moved next to whatever the person just did. */
export const errorLine = hidden(h('p', { class: 'error', role: 'alert', test: 'error' }));

export function showError(near, message) {
  near.append(errorLine);
  errorLine.textContent = message;
  errorLine.hidden = false;
}

export function clearError() {
  errorLine.textContent = '';
  errorLine.hidden = true;
}

/** Failures handled elsewhere: a page that was left, a login that ended (back to the login screen). */
export const quiet = (err) => err?.name === 'AbortError' || err?.code === 'ERR_WEB_LOGIN_REQUIRED';

export function fail(near, err) {
  if (!quiet(err)) showError(near, err instanceof Error ? err.message : String(err));
}

/** Throws a message for the error line when a condition does not hold (input checks). */
export function need(ok, message) {
  if (!ok) throw new Error(message);
}

/**
 * An event handler that clears the error line, shows `busyText` on `busyEl` while fn runs, and
 * shows any failure next to `near`.
 */
export function action(near, busyEl, busyText, fn) {
  return async (event) => {
    event?.preventDefault();
    clearError();
    if (busyEl) setBusy(busyEl, true, busyText);
    try {
      await fn();
    } catch (err) {
      fail(near, err);
    } finally {
      if (busyEl) setBusy(busyEl, false);
    }
  };
}

/** Wraps a loader so runs never overlap; a call during a run asks for one more run after it. */
export function serial(fn) {
  let running = null;
  let again = false;
  const run = async () => {
    if (running !== null) {
      again = true;
      return running;
    }
    running = (async () => {
      do {
        again = false;
        await fn();
      } while (again);
    })();
    try {
      await running;
    } finally {
      running = null;
    }
  };
  return run;
}

// ---------------------------------------------------------------- polling

export function pause(ms, signal) {
  let wake = () => {};
  const done = new Promise((resolve) => {
    const finish = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', finish);
      resolve();
    };
    const timer = setTimeout(finish, ms);
    signal.addEventListener('abort', finish);
    wake = finish;
  });
  return { done, wake };
}

/**
 * Runs fn(signal) every `everyMs` (start to start; a function is asked each time) until signal aborts; a run never overlaps the
 * previous one. now() asks for a run as soon as the current one (if any) ends.
 */
export function poll(signal, everyMs, fn) {
  let sleeping = null;
  let again = false;
  const loop = async () => {
    while (!signal.aborted) {
      again = false;
      const started = Date.now();
      try {
        await fn(signal);
      } catch (err) {
        if (!signal.aborted && !quiet(err)) console.error(err);
      }
      if (signal.aborted || again) continue;
      const every = typeof everyMs === 'function' ? everyMs() : everyMs;
      sleeping = pause(Math.max(250, every - (Date.now() - started)), signal);
      await sleeping.done;
      sleeping = null;
    }
  };
  loop();
  return {
    now() {
      if (sleeping !== null) sleeping.wake();
      else again = true;
    },
  };
}

/** A poll body that shows failures in `stale` (a status line) instead of the error line. */
export function refreshing(stale, what, fn) {
  return async (signal) => {
    try {
      await fn(signal);
      say(stale, '');
    } catch (err) {
      if (!signal.aborted && !quiet(err)) say(stale, `Could not refresh ${what}: ${err.message}`);
    }
  };
}

// ---------------------------------------------------------------- password re-entry

/**
 * A modal dialog asking for the admin password, then running run(password). A wrong password keeps
 * the dialog open with the error; other failures close it and reject. Cancel resolves undefined.
 */
export function askPassword({ title, why, warning, okLabel = 'OK', danger = false, run }) {
  return new Promise((resolve, reject) => {
    const input = h('input', { type: 'password', test: 'reauth-password', autocomplete: 'current-password' });
    const ok = button(okLabel, 'reauth-ok', 'submit', danger ? 'danger' : 'primary');
    const cancel = button('Cancel', 'reauth-cancel', () => finish(resolve, undefined));
    const form = h(
      'form',
      { class: 'stack' },
      h('h2', title),
      warning && p('note bad', warning),
      p('', why),
      field('Admin password', input),
      h('div', { class: 'row end' }, cancel, ok),
    );
    const dialog = h('dialog', { class: 'reauth', 'aria-label': title }, form);
    let settled = false;
    const finish = (fn, value) => {
      if (settled) return;
      settled = true;
      if (dialog.open) dialog.close();
      dialog.remove();
      fn(value);
    };
    dialog.addEventListener('close', () => finish(resolve, undefined));
    // While the request runs, Escape must not hide its outcome.
    dialog.addEventListener('cancel', (event) => ok.disabled && event.preventDefault());
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      clearError();
      if (input.value === '') return showError(form, 'Enter the admin password.');
      setBusy(ok, true, 'Working…');
      cancel.disabled = true;
      try {
        finish(resolve, await run(input.value));
      } catch (err) {
        if (err?.code !== 'ERR_WEB_PASSWORD') return finish(reject, err);
        setBusy(ok, false);
        cancel.disabled = false;
        showError(form, err.message);
        input.select();
      }
    });
    state.root.append(dialog);
    dialog.showModal();
    input.focus();
  });
}
