/**
 * Spread placement through the daemon (src/node/transfers.ts) on an in-process 4-node testnet: the
 * default cluster list comes with each node's probed free space, and small files spread over the
 * cluster instead of all landing on the first two nodes of the sorted list.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { tmpDir } from '../helpers/context.ts';
import { pairAll, startTestnet, testnetTemplates } from '../helpers/testnet.ts';

const templates = testnetTemplates(4);

test('small files uploaded with the default cluster list spread over more than two of 4 nodes', async (t: TestContext) => {
  const homes = await templates.homes(t);
  await pairAll(homes);
  const nodes = await startTestnet(t, homes);
  const a = nodes[0]!.daemon;
  const dir = await tmpDir(t);
  const sorted = nodes.map((n) => n.uuid).sort();
  const used = new Set<string>();
  // Today's rule put every one of them on sorted[0] and sorted[1]. With spread placement, 10 one-chunk
  // files all on one pair of 4 equal nodes has probability 6 · (1/6)^10 ≈ 1e-7.
  for (let f = 0; f < 10; f++) {
    const file = join(dir, `photo-${f}.jpg`);
    await writeFile(file, Buffer.alloc(2000 + f, f));
    const job = await a.jobs.submit('upload', { file });
    const done = await a.jobs.wait(job.id);
    t.assert.strictEqual(done.state, 'done', JSON.stringify(done.error));
    const result = done.result as { cluster: string[]; placement: Array<{ holders: string[] }> };
    t.assert.deepStrictEqual(result.cluster, sorted);
    const holders = result.placement[0]!.holders;
    t.assert.strictEqual(new Set(holders).size, 2, 'two copies on two nodes');
    for (const node of holders) used.add(node);
  }
  t.assert.ok(used.size > 2, `holders: ${[...used].join(', ')}`);
});
