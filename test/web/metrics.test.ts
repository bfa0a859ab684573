/**
 * `GET /metrics` over real HTTPS on the web UI's listener: off by default (404); on, it refuses a
 * request without a session or token (401 ERR_WEB_LOGIN_REQUIRED) and a wrong token (401
 * ERR_METRICS_TOKEN), and answers the admin's session and the bearer token whose SHA-256 node.json
 * holds, in the Prometheus text format (checked line by line by the parser below); its figures move
 * after an upload.
 */
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { isArozError } from '../../src/errors.ts';
import { Daemon } from '../../src/node/daemon.ts';
import type { NodeMetrics } from '../../src/ops/metrics.ts';
import { formatMetrics, metricsTokenHash } from '../../src/web/metrics.ts';
import { teardown } from '../helpers/context.ts';
import { testBytes } from '../helpers/random.ts';
import { pairAll, startTestnet, testnetTemplates } from '../helpers/testnet.ts';
import { until } from '../helpers/until.ts';
import { type WebAnswer, WebClient } from '../helpers/web.ts';

const templates = testnetTemplates(2);

/** Sets fields of a home's node.json (as a person would, with the node stopped). */
async function configure(home: string, fields: Record<string, unknown>): Promise<void> {
  const path = join(home, 'ADDC', 'node.json');
  const config = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
  await writeFile(path, `${JSON.stringify({ ...config, ...fields }, null, 2)}\n`, { mode: 0o600 });
}

const NAME = /[a-zA-Z_:][a-zA-Z0-9_:]*/.source;
const LABEL = `[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\[\\\\"n])*"`;
const SAMPLE = new RegExp(
  `^(${NAME})(\\{(?:${LABEL}(?:,${LABEL})*)?\\})? (-?[0-9]+(?:\\.[0-9]+)?(?:e[+-]?[0-9]+)?|NaN|[+-]Inf)$`,
);

/**
 * The Prometheus text format (0.0.4), strictly: each line is `# HELP name text`, `# TYPE name
 * counter|gauge`, or `name{labels} value`; a metric's HELP and TYPE come once, before its samples;
 * the text ends with a line feed. Returns the samples keyed `name{labels}`.
 */
function parseMetrics(t: TestContext, text: string): Map<string, number> {
  t.assert.ok(text.endsWith('\n'), 'ends with a line feed');
  const samples = new Map<string, number>();
  const typed = new Map<string, string>();
  const helped = new Set<string>();
  for (const line of text.slice(0, -1).split('\n')) {
    const help = /^# HELP ([^ ]+) (.+)$/.exec(line);
    const type = /^# TYPE ([^ ]+) (counter|gauge)$/.exec(line);
    if (help !== null) {
      t.assert.match(help[1]!, new RegExp(`^${NAME}$`));
      t.assert.ok(!helped.has(help[1]!), `one HELP for ${help[1]}`);
      helped.add(help[1]!);
    } else if (type !== null) {
      t.assert.ok(helped.has(type[1]!) && !typed.has(type[1]!), `TYPE of ${type[1]} once, after its HELP`);
      typed.set(type[1]!, type[2]!);
    } else {
      const sample = SAMPLE.exec(line);
      t.assert.ok(sample !== null, `a sample line: ${JSON.stringify(line)}`);
      const [, name, labels = '', value] = sample;
      t.assert.ok(typed.has(name!), `${name} has a TYPE before its samples`);
      if (typed.get(name!) === 'counter') t.assert.match(name!, /_total$/);
      const key = `${name}${labels}`;
      t.assert.ok(!samples.has(key), `one sample of ${key}`);
      samples.set(key, Number(value));
    }
  }
  return samples;
}

function value(t: TestContext, samples: Map<string, number>, key: string): number {
  const found = samples.get(key);
  t.assert.ok(found !== undefined, `${key} is reported`);
  return found;
}

function refused(t: TestContext, answer: WebAnswer, code: string): void {
  t.assert.strictEqual(answer.status, 401, answer.body.toString());
  t.assert.strictEqual(answer.json?.error?.code, code);
  t.assert.match(String(answer.headers['www-authenticate']), /^Bearer /);
}

test('/metrics is off by default: 404 ERR_NOT_FOUND, for a logged-in admin and a bearer token alike', async (t: TestContext) => {
  const homes = await templates.homes(t);
  const [node] = await startTestnet(t, homes.slice(0, 1), { web: { address: '', tls: true } });
  const admin = WebClient.of(node!.daemon);
  t.assert.strictEqual(admin.url.protocol, 'https:');
  await admin.setup(node!.daemon);
  for (const headers of [{}, { authorization: `Bearer ${randomBytes(32).toString('base64url')}` }]) {
    const answer = await admin.get('/metrics', { headers });
    t.assert.strictEqual(answer.status, 404);
    t.assert.strictEqual(answer.json.error.code, 'ERR_NOT_FOUND');
  }
});

test('/metrics over HTTPS: refused without a session or the right token; the token and a login read Prometheus text whose figures move after an upload', async (t: TestContext) => {
  const homes = await templates.homes(t);
  await pairAll(homes);
  const token = randomBytes(32).toString('base64url');
  await configure(homes[0]!, { metrics: true, metricsTokenSha256: metricsTokenHash(token) });
  const nodes = await startTestnet(t, homes, { web: { address: '', tls: true } });
  const daemon = nodes[0]!.daemon;
  const scraper = WebClient.of(daemon); // no cookie, ever
  t.assert.strictEqual(scraper.url.protocol, 'https:');
  const bearer = (sent: string) => scraper.get('/metrics', { headers: { authorization: `Bearer ${sent}` } });

  refused(t, await scraper.get('/metrics'), 'ERR_WEB_LOGIN_REQUIRED');
  refused(
    t,
    await scraper.get('/metrics', { headers: { authorization: 'Basic YWRtaW46YWRtaW4=' } }),
    'ERR_WEB_LOGIN_REQUIRED',
  );
  refused(t, await bearer(`${token}x`), 'ERR_METRICS_TOKEN');
  refused(t, await bearer(token.toUpperCase()), 'ERR_METRICS_TOKEN');
  refused(t, await bearer('x'.repeat(5000)), 'ERR_METRICS_TOKEN');

  const first = await bearer(token);
  t.assert.strictEqual(first.status, 200, first.body.toString());
  t.assert.strictEqual(first.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
  const before = parseMetrics(t, first.body.toString('utf8'));
  t.assert.strictEqual(
    value(
      t,
      before,
      `arozdfs_node_info{uuid="${daemon.nodeUuid}",name="${daemon.home.config.name}",version="${(await daemon.info()).version}"}`,
    ),
    1,
  );
  t.assert.strictEqual(value(t, before, 'arozdfs_catalog_files'), 0);
  t.assert.strictEqual(value(t, before, 'arozdfs_peers_trusted'), 1);
  t.assert.strictEqual(value(t, before, 'arozdfs_job_file_bytes_total{kind="upload"}'), 0);
  t.assert.strictEqual(value(t, before, 'arozdfs_jobs{kind="upload",state="done"}'), 0);
  t.assert.strictEqual(value(t, before, 'arozdfs_chunks{state="stored"}'), 0);
  t.assert.strictEqual(value(t, before, 'arozdfs_chunks{state="quarantined"}'), 0);
  t.assert.strictEqual(value(t, before, 'arozdfs_chunk_bytes{state="stored"}'), 0);
  t.assert.strictEqual(value(t, before, 'arozdfs_discovery_visible_nodes'), 0);
  t.assert.ok(!before.has('arozdfs_repair_backlog_chunks'), 'no repair pass yet: no backlog figure');

  // The admin's session reads it too (no token), and uploads a file.
  const admin = WebClient.of(daemon);
  await admin.setup(daemon);
  const byLogin = await admin.get('/metrics');
  t.assert.strictEqual(byLogin.status, 200, byLogin.body.toString());
  parseMetrics(t, byLogin.body.toString('utf8'));
  const data = testBytes(3 * 1024 * 1024 + 5);
  const put = await admin.request('PUT', '/api/upload?name=metrics.bin&copies=2', {
    raw: data,
    headers: { 'content-type': 'application/octet-stream' },
  });
  t.assert.strictEqual(put.status, 202, put.body.toString());
  const job = await until('the upload job to finish', async () => {
    const found = (await admin.get('/api/jobs')).json.jobs.find(
      (j: { id: string }) => j.id === put.json.job.id,
    );
    return found.state !== 'queued' && found.state !== 'running' && found;
  });
  t.assert.strictEqual(job.state, 'done', JSON.stringify(job.error));

  // Store figures are shared by the calls of one second (GET /v1/node's cache): poll until they move.
  let text = '';
  const after = await until('the stored chunks to be counted', async () => {
    text = (await bearer(token)).body.toString('utf8');
    const samples = parseMetrics(t, text);
    return samples.get('arozdfs_chunks{state="stored"}') === job.result.chunks && samples;
  });
  t.assert.strictEqual(value(t, after, 'arozdfs_catalog_files'), 1);
  t.assert.strictEqual(value(t, after, 'arozdfs_job_file_bytes_total{kind="upload"}'), data.length);
  t.assert.strictEqual(value(t, after, 'arozdfs_jobs{kind="upload",state="done"}'), 1);
  t.assert.strictEqual(value(t, after, 'arozdfs_peers_online'), 1);
  // Two copies on two nodes: every chunk has one here.
  t.assert.strictEqual(value(t, after, 'arozdfs_chunks{state="stored"}'), job.result.chunks);
  t.assert.strictEqual(value(t, after, 'arozdfs_chunk_bytes{state="stored"}'), data.length);
  t.diagnostic(`a scrape after one upload: ${text.split('\n').length} lines, ${text.length} bytes`);
  if (process.env['AROZDFS_SHOW_METRICS'] === '1') t.diagnostic(text);

  // A repair pass gives the backlog figures.
  await daemon.repair.pass({ signal: AbortSignal.timeout(60_000) });
  const repaired = parseMetrics(t, (await bearer(token)).body.toString('utf8'));
  t.assert.strictEqual(value(t, repaired, 'arozdfs_repair_passes_total'), 1);
  t.assert.strictEqual(value(t, repaired, 'arozdfs_repair_backlog_chunks'), 0);
  t.assert.strictEqual(value(t, repaired, 'arozdfs_repair_under_replicated_chunks'), 0);
});

test('a node.json metrics setting that is not valid stops the start (ERR_HOME_INVALID)', async (t: TestContext) => {
  const homes = await templates.homes(t);
  for (const fields of [
    { metrics: 'yes' },
    { metricsTokenSha256: 'F'.repeat(64) },
    { metricsTokenSha256: 'abc' },
  ]) {
    await configure(homes[0]!, { metrics: true, metricsTokenSha256: undefined, ...fields });
    const start = Daemon.start({ home: homes[0]!, listen: '127.0.0.2:0', discovery: false });
    start.then(
      (d) => teardown(t).defer(() => d.close()),
      () => {},
    );
    await t.assert.rejects(start, (err) => isArozError(err, 'ERR_HOME_INVALID'));
  }
});

test('formatMetrics() escapes label values (a node name with quotes, backslashes and a line feed) and leaves out figures not known yet', (t: TestContext) => {
  const name = 'a "quoted" \\ name\nnext';
  const snapshot: NodeMetrics = {
    node: { uuid: '7cce4b05-34a5-401e-920a-98d20e7a0f37', name, version: '0.1.0', startedAt: 1_700_000_000 },
    stores: [
      {
        id: 'offline-store',
        kind: 'disk',
        online: false,
        capacity: 0,
        free: 0,
        used: 0,
        chunks: 0,
        trash: { chunks: 0, bytes: 0 },
        quarantine: { chunks: 0, bytes: 0 },
      },
    ],
    traffic: { receivedBytes: 5, servedBytes: 7, inFlight: 0 },
    jobBytes: { upload: 0, download: 0 },
    jobs: [],
    repair: { passes: 0, copies: 0, bytes: 0, last: null },
    scrub: null,
    peers: { trusted: 0, online: 0 },
    catalog: { files: 0, tombstones: 0 },
    discovery: { enabled: false, visible: 0 },
  };
  const text = formatMetrics(snapshot);
  const samples = parseMetrics(t, text);
  t.assert.ok(text.includes('name="a \\"quoted\\" \\\\ name\\nnext"'), text.split('\n')[2]);
  t.assert.strictEqual(samples.get('arozdfs_store_online{store="offline-store",kind="disk"}'), 0);
  t.assert.strictEqual(samples.get('arozdfs_transfer_bytes_total{direction="in"}'), 5);
  t.assert.strictEqual(samples.get('arozdfs_transfer_bytes_total{direction="out"}'), 7);
  t.assert.ok(
    ![...samples.keys()].some((k) => k.startsWith('arozdfs_scrub_') || k.startsWith('arozdfs_repair_last')),
  );
});
