/**
 * A web UI on an address that is not loopback is served over HTTPS only. The node runs inside a
 * network namespace of its own (`unshare -n`) whose loopback interface also carries 10.77.0.1, so
 * nothing listens on this machine's real interfaces; curl, in the same namespace, is the client.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { CLI, runProcess } from '../helpers/cli.ts';
import { tmpDir } from '../helpers/context.ts';
import { homeTemplate } from '../helpers/homes.ts';

const template = homeTemplate();

const probe = await runProcess('unshare', [
  '-n',
  'sh',
  '-c',
  'ip link set lo up && ip addr add 10.77.0.1/32 dev lo',
]).catch(() => undefined);
const skip = probe?.code === 0 ? false : 'cannot make a network namespace here (needs root, unshare and ip)';

const SCRIPT = `
set -e
ip link set lo up
ip addr add 10.77.0.1/32 dev lo
"$NODE" "$CLI" --home "$NODE_HOME" --json serve --listen 127.0.0.2:0 --no-discovery --web 10.77.0.1:0 > "$OUT" &
pid=$!
for i in $(seq 900); do grep -q '"ready"' "$OUT" && break; kill -0 $pid || break; sleep 0.1; done
grep -q '"ready"' "$OUT" || { echo "serve exited, or was not ready after 90 s" >&2; exit 1; }
url=$(grep '"ready"' "$OUT" | sed -E 's/.*"url":"([^"]*)".*/\\1/')
curl -sk --max-time 30 "\${url}api/session"; echo
set +e
curl -s --max-time 30 "http://\${url#https://}api/session" > /dev/null
echo "plain-http-exit $?"
kill $pid; wait $pid
`;

test('a non-loopback web address is served over HTTPS only, with the fingerprint serve prints', {
  skip,
}, async (t: TestContext) => {
  const home = await template.copy(t);
  const out = join(await tmpDir(t), 'serve.out');
  const run = await runProcess('unshare', ['-n', 'sh', '-c', SCRIPT], {
    env: { NODE: process.execPath, CLI, NODE_HOME: home, OUT: out },
    timeoutMs: 115_000,
  });
  t.assert.strictEqual(run.code, 0, run.stderr);
  const ready = (await readFile(out, 'utf8'))
    .split('\n')
    .filter((l) => l.includes('"ready"'))
    .map((l) => JSON.parse(l))[0];
  t.assert.strictEqual(ready.web.tls, true);
  t.assert.match(ready.web.url, /^https:\/\/10\.77\.0\.1:\d+\/$/);
  t.assert.match(ready.web.certificateFingerprint, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
  const [session, plain] = run.stdout.trim().split('\n');
  t.assert.deepStrictEqual(JSON.parse(session ?? '').passwordSet, false, 'HTTPS answers');
  t.assert.strictEqual(
    JSON.parse(session ?? '').passwordFile,
    null,
    'the home path is not told off this machine',
  );
  t.assert.notStrictEqual(plain, 'plain-http-exit 0', 'plain HTTP does not');
});
