import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { groupFingerprint } from '../../src/keys/fingerprint.ts';
import { runCli } from '../helpers/cli.ts';
import { tmpDir } from '../helpers/context.ts';

const last = (run: { lines(): Array<Record<string, unknown>> }) => run.lines().at(-1) ?? {};

test('two homes are paired both ways from the command line alone', async (t: TestContext) => {
  const dir = await tmpDir(t);
  const a = join(dir, 'a');
  const b = join(dir, 'b');
  const inits = await Promise.all([
    runCli(['init', '--name', 'alpha'], { home: a }),
    runCli(['init', '--name', 'beta'], { home: b }),
  ]);
  t.assert.deepStrictEqual(
    inits.map((r) => r.code),
    [0, 0],
  );
  const showA = last(await runCli(['--json', 'keys', 'show'], { home: a }));
  const showB = last(await runCli(['--json', 'keys', 'show'], { home: b }));
  // A takes B's string as an argument; B reads A's from stdin, wrapped the way e-mail would.
  const addOnA = await runCli(['--json', 'peers', 'add', String(showB['pairing']), '--yes'], { home: a });
  t.assert.strictEqual(last(addOnA)['added'], true, addOnA.stdout);
  const wrapped = String(showA['pairing']).replace(/(.{72})/g, '$1\r\n');
  const addOnB = await runCli(['--json', 'peers', 'add', '-', '--yes'], { home: b, input: wrapped });
  t.assert.strictEqual(last(addOnB)['added'], true, addOnB.stdout);

  const listA = last(await runCli(['--json', 'peers', 'list'], { home: a }))['peers'];
  const listB = last(await runCli(['--json', 'peers', 'list'], { home: b }))['peers'];
  t.assert.deepStrictEqual(listA, [
    {
      nodeUuid: showB['nodeUuid'],
      label: 'beta',
      bits: 3072,
      fingerprint: showB['fingerprint'],
      addedAt: (listA as Array<{ addedAt: string }>)[0]?.addedAt,
    },
  ]);
  t.assert.deepStrictEqual(
    (listB as Array<Record<string, unknown>>).map((p) => [p['nodeUuid'], p['label'], p['fingerprint']]),
    [[showA['nodeUuid'], 'alpha', showA['fingerprint']]],
  );
  // The pinned file is the peer's public key, byte for byte what its keys show printed.
  const pinned = await readFile(
    join(a, 'ADDC/keypairs/remote', `${String(showB['nodeUuid'])}_rsa.pub`),
    'utf8',
  );
  t.assert.strictEqual(pinned, showB['pem']);
  // For people, peers list groups the fingerprint exactly as the other side's keys show prints it.
  const grouped = groupFingerprint(String(showB['fingerprint']));
  const human = await runCli(['peers', 'list'], { home: a });
  t.assert.ok(human.stdout.includes(grouped), human.stdout);
  t.assert.ok((await runCli(['keys', 'show'], { home: b })).stdout.includes(grouped));
  t.assert.ok((await runCli(['keys', 'list'], { home: b })).stdout.includes(grouped));
});
