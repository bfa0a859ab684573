/**
 * bench:web's browser: one PUT /api/upload of a file, in its own thread (a browser is never in the
 * daemon's process, so its HTTP client must not share the daemon's event loop). Gets the URL, the
 * session cookie, the CSRF token, the request path and the file; posts back the status and the body.
 */
import { createReadStream } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { WebClient } from '../test/helpers/web.ts';

const { url, cookie, csrf, path, file, size } = workerData as {
  url: string;
  cookie: string;
  csrf: string;
  path: string;
  file: string;
  size: number;
};
const client = new WebClient(url);
client.cookie = cookie;
client.csrf = csrf;
const answer = await client.request('PUT', path, {
  raw: createReadStream(file, { highWaterMark: 1024 * 1024 }),
  headers: { 'content-length': String(size) },
});
parentPort?.postMessage({ status: answer.status, body: answer.body.toString('utf8') });
