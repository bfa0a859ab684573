/**
 * `npm start` exactly as the README says — default cluster address 0.0.0.0:7420, web UI on
 * 127.0.0.1:7421, discovery on — in a network namespace the test makes: once with only loopback, once
 * with a veth interface carrying 10.77.1.1. It must make its home, answer on both ports, and stop on
 * Ctrl-C (SIGINT to its process group, as a terminal sends it) with exit code 0.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { runCli, runProcess } from '../helpers/cli.ts';
import { teardown, tmpDir } from '../helpers/context.ts';
import { LO_SETUP, noNetns, noNpm, noVeth, ROOT, USER_PATH, VETH_SETUP } from '../helpers/user-shell.ts';

/** Run inside the namespace: the web UI's session answer, and the certificate the cluster port shows. */
const PROBE = `
const tls = require('node:tls');
const cert = (host) => new Promise((resolve, reject) => {
  const socket = tls.connect({ host, port: 7420, rejectUnauthorized: false, ALPNProtocols: ['h2'] });
  socket.once('secureConnect', () => { resolve(socket.getPeerCertificate().subjectaltname); socket.destroy(); });
  socket.once('error', reject);
});
(async () => {
  const session = await (await fetch('http://127.0.0.1:7421/api/session')).json();
  const hosts = process.argv.slice(1);
  const certs = [];
  for (const host of hosts) certs.push(await cert(host));
  console.log(JSON.stringify({ session, certs }));
})().catch((err) => { console.error(err); process.exit(1); });
`;

for (const net of [
  { name: 'only loopback', setup: LO_SETUP, hosts: ['127.0.0.1'], skip: noNetns || noNpm },
  {
    name: 'a veth interface with 10.77.1.1',
    setup: `${LO_SETUP} && ${VETH_SETUP}`,
    hosts: ['127.0.0.1', '10.77.1.1'],
    skip: noVeth || noNpm,
  },
]) {
  test(`npm start on its defaults in a network namespace with ${net.name}: serves, stops on Ctrl-C`, {
    skip: net.skip,
  }, async (t: TestContext) => {
    const home = join(await tmpDir(t), 'home');
    const child = spawn('unshare', ['-n', 'sh', '-c', `${net.setup} && exec npm start`], {
      cwd: ROOT,
      env: { ...process.env, PATH: USER_PATH, AROZDFS_HOME: home },
      detached: true, // its own process group, like a shell's foreground job
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      output += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      output += d;
    });
    const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
      child.once('exit', (code, signal) => resolve({ code, signal })),
    );
    teardown(t).defer(async () => {
      if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, 'SIGKILL');
      await exited;
    });

    // The control socket is a file: `arozdfs wait` reaches it from outside the namespace.
    const waited = await Promise.race([
      runCli(['--json', 'wait', '--timeout', '120'], { home, timeoutMs: 130_000 }),
      exited.then((end) => {
        throw new Error(`npm start ended (${JSON.stringify(end)}) before it was ready:\n${output}`);
      }),
    ]);
    t.assert.strictEqual(waited.code, 0, `${waited.stdout}\n${output}`);
    t.assert.strictEqual(waited.lines().at(-1)?.['listen'], '0.0.0.0:7420');

    const probe = await runProcess('nsenter', [
      '-t',
      String(child.pid),
      '-n',
      process.execPath,
      '-e',
      PROBE,
      ...net.hosts,
    ]);
    t.assert.strictEqual(probe.code, 0, probe.stderr);
    const { session, certs } = JSON.parse(probe.stdout) as {
      session: { passwordSet: boolean; node: { nodeUuid: string } };
      certs: string[];
    };
    const nodeUuid = waited.lines().at(-1)?.['nodeUuid'];
    t.assert.strictEqual(session.node.nodeUuid, nodeUuid, 'the web UI answers on 127.0.0.1:7421');
    t.assert.strictEqual(session.passwordSet, false);
    for (const san of certs)
      t.assert.strictEqual(san, `URI:urn:uuid:${nodeUuid}`, 'the cluster port answers');

    const discover = await runCli(['--json', 'cluster', 'discover'], { home });
    t.assert.strictEqual(discover.lines().at(-1)?.['enabled'], true, 'discovery is on');

    t.assert.match(output, /run "(npx )?arozdfs --home \S+ keys show"/, 'the first-run hint');
    t.assert.doesNotMatch(output, /EBADENGINE/);
    process.kill(-child.pid!, 'SIGINT');
    t.assert.deepStrictEqual(await exited, { code: 0, signal: null }, output);
    t.assert.match(output, /Stopped\./);
  });
}
