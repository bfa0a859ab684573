import { type ChildProcess, spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { DatabaseSync } from 'node:sqlite';
import { type TestContext, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { catalogKeys, SqliteCatalogStore, verifyStatement } from '../../src/catalog/index.ts';
import { privateKeyPem } from '../../src/keys/index.ts';
import { teardown, tmpDir } from '../helpers/context.ts';
import { testNode } from './helpers.ts';

const CHILD = fileURLToPath(new URL('./crash-apply.ts', import.meta.url));
const BATCH = 250;

function startChild(t: TestContext, args: string[]) {
  const child = spawn(process.execPath, [CHILD, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  teardown(t).defer(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await new Promise((resolve) => child.once('exit', resolve));
    }
  });
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream })[Symbol.asyncIterator]();
  return { child, lines, stderr: () => stderr };
}

async function kill(child: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

test('kill -9 while batches are written leaves whole batches only, each statement intact', async (t: TestContext) => {
  const node = await testNode(0);
  const dir = await tmpDir(t);
  const db = join(dir, 'catalog.db');
  const keyFile = join(dir, 'key.pem');
  await writeFile(keyFile, privateKeyPem(node.keyPair), { mode: 0o600 });
  const keys = catalogKeys({ nodeUuid: node.uuid, keys: [node.keyPair] }, { get: () => undefined });
  let committed = 0;
  for (let round = 0; round < 3; round++) {
    const { child, lines, stderr } = startChild(t, [db, keyFile, node.uuid, String(BATCH)]);
    let line = await lines.next();
    t.assert.strictEqual(line.value, 'ready', stderr());
    // Two commits, then kill: the child is then inside the next batch's transaction.
    for (let k = 0; k < 2; k++) {
      line = await lines.next();
      t.assert.match(String(line.value), /^committed \d+$/, stderr());
      committed = Number(String(line.value).split(' ')[1]);
    }
    await kill(child);
    t.assert.strictEqual(stderr(), '', 'the child printed no warning (node:sqlite) and no error');

    const raw = new DatabaseSync(db);
    const check = raw.prepare('PRAGMA integrity_check').all() as Array<Record<string, unknown>>;
    const orphans = raw
      .prepare(
        'SELECT count(*) AS n FROM files f LEFT JOIN statements s ON s.signer = f.uploader AND s.seq = f.seq WHERE s.seq IS NULL',
      )
      .get() as { n: number };
    const holders = raw.prepare('SELECT count(*) AS n FROM chunk_holders').get() as { n: number };
    const all = raw.prepare('SELECT bytes FROM statements ORDER BY seq').all() as Array<{
      bytes: Uint8Array;
    }>;
    raw.close();
    t.assert.deepStrictEqual(
      check.map((r) => Object.values(r)[0]),
      ['ok'],
    );
    t.assert.strictEqual(orphans.n, 0, 'every file row has its statement');

    const store = await SqliteCatalogStore.open(db);
    const counts = store.counts();
    const maxSeq = store.maxSeq(node.uuid);
    store.close();
    t.assert.strictEqual(counts.statements % BATCH, 0, `whole batches only (${counts.statements})`);
    t.assert.ok(maxSeq >= committed, `every committed batch is there (${maxSeq} >= ${committed})`);
    t.assert.strictEqual(counts.statements, maxSeq, 'seqs 1..max, no gap, no extra');
    t.assert.strictEqual(counts.files, counts.statements);
    t.assert.strictEqual(holders.n, 2 * counts.files);
    for (const { bytes } of all) verifyStatement(bytes, keys);
  }
});
