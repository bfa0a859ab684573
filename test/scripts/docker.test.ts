/**
 * The container recipe (Dockerfile, .dockerignore, compose.yaml), checked by its structure: no
 * container engine runs here (hadolint is not packaged by Debian either). The image runs as a user
 * that is not root, checks its health, keeps the home and the store in volumes, starts from a base
 * pinned to the Node the project pins, and copies nothing but the sources it builds.
 */
import { readFile } from 'node:fs/promises';
import { type TestContext, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

interface Instruction {
  op: string;
  args: string;
}

/** The Dockerfile's instructions: comments dropped, continued lines joined. */
async function instructions(): Promise<Instruction[]> {
  const text = await readFile(`${ROOT}Dockerfile`, 'utf8');
  const joined = text
    .split('\n')
    .filter((line) => !/^\s*#/.test(line))
    .join('\n')
    .replace(/\\\n/g, ' ');
  return joined
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .map((line) => {
      const [op = '', ...rest] = line.split(/\s+/);
      return { op: op.toUpperCase(), args: rest.join(' ') };
    });
}

/** The instructions of the last stage (what the image is). */
function finalStage(all: Instruction[]): Instruction[] {
  const from = all.map((i) => i.op).lastIndexOf('FROM');
  return all.slice(from);
}

test('the image runs as a user that is not root, with a health check and volumes for home and store', async (t: TestContext) => {
  const stage = finalStage(await instructions());
  const users = stage.filter((i) => i.op === 'USER').map((i) => i.args);
  t.assert.ok(users.length > 0, 'the final stage sets USER');
  t.assert.ok(!/^(root|0)(:|$)/.test(users.at(-1)!), `USER ${users.at(-1)} is not root`);

  const health = stage.filter((i) => i.op === 'HEALTHCHECK');
  t.assert.strictEqual(health.length, 1);
  t.assert.match(health[0]!.args, /CMD \["arozdfs", "wait", "--timeout", "\d+"\]/);

  const volumes = stage.filter((i) => i.op === 'VOLUME').flatMap((i) => JSON.parse(i.args) as string[]);
  const env = stage
    .filter((i) => i.op === 'ENV')
    .map((i) => i.args)
    .join(' ');
  const home = /AROZDFS_HOME=(\S+)/.exec(env)?.[1];
  t.assert.ok(home !== undefined && volumes.includes(home), `the home ${home} is a volume (${volumes})`);
  const cmd = JSON.parse(stage.find((i) => i.op === 'CMD')!.args) as string[];
  const store = cmd[cmd.indexOf('--store') + 1];
  t.assert.ok(store !== undefined && volumes.includes(store), `the store ${store} is a volume`);
});

test('every base image is pinned to the Node version package.json pins', async (t: TestContext) => {
  const pkg = JSON.parse(await readFile(`${ROOT}package.json`, 'utf8')) as {
    devDependencies: Record<string, string>;
  };
  const node = pkg.devDependencies['node'];
  const froms = (await instructions()).filter((i) => i.op === 'FROM');
  t.assert.ok(froms.length > 0);
  for (const from of froms) {
    const image = from.args.split(/\s+/)[0]!;
    t.assert.match(
      image,
      new RegExp(`^node:${node!.replaceAll('.', '\\.')}-[a-z]+-slim(@sha256:[0-9a-f]{64})?$`),
    );
  }
});

test('the build copies only sources: no home, key, secret or local file', async (t: TestContext) => {
  const all = await instructions();
  t.assert.deepStrictEqual(
    all.filter((i) => i.op === 'ADD'),
    [],
    'ADD (which fetches URLs and unpacks archives) is not used',
  );
  for (const copy of all.filter((i) => i.op === 'COPY' && !i.args.startsWith('--from='))) {
    const sources = copy.args.split(/\s+/).slice(0, -1);
    for (const source of sources) {
      t.assert.ok(source !== '.' && !source.includes('*'), `COPY names what it copies: ${copy.args}`);
      t.assert.doesNotMatch(source, /ADDC|\.pem$|_rsa|\.env|\.npmrc|node_modules|\.arozdfs/, copy.args);
    }
  }
  // .dockerignore sends nothing but what those COPY lines name.
  const ignore = (await readFile(`${ROOT}.dockerignore`, 'utf8'))
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  t.assert.strictEqual(ignore[0], '**');
  for (const kept of ignore.slice(1)) t.assert.ok(kept.startsWith('!'), kept);
  t.assert.ok(!ignore.some((l) => /ADDC|\.pem|node_modules|\.env/.test(l)));
});

test('the compose example uses the host network (mDNS) and restarts the node', async (t: TestContext) => {
  const compose = await readFile(`${ROOT}compose.yaml`, 'utf8');
  t.assert.match(compose, /^\s+network_mode: host$/m);
  t.assert.match(compose, /^\s+restart: unless-stopped$/m);
  t.assert.match(compose, /:\/var\/lib\/arozdfs$/m);
});
