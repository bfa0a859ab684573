import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { isArozError } from '../../src/errors.ts';
import {
  type NodeConfig,
  readNodeConfig,
  validateNodeConfig,
  writeNodeConfig,
} from '../../src/home/node-config.ts';
import { DEFAULT_JOB_CONCURRENCY, daemonSettings } from '../../src/node/settings.ts';
import { newUuid } from '../../src/uuid.ts';
import { tmpDir } from '../helpers/context.ts';

const invalid = (err: unknown) => isArozError(err, 'ERR_HOME_INVALID');

function good(): NodeConfig {
  return {
    version: 1,
    nodeUuid: newUuid(),
    name: 'alpha',
    activeKey: newUuid(),
    createdAt: '2026-11-26T07:00:00.000Z',
  };
}

test('node.json round-trips, keeping fields this version does not know', async (t: TestContext) => {
  const file = join(await tmpDir(t), 'node.json');
  const config = {
    ...good(),
    listen: '0.0.0.0:7420',
    stores: ['/mnt/disk1'],
    trashGraceSeconds: 0,
    scrubPassSeconds: 86400,
    scrubMaxBytesPerSecond: 0,
    repairGoneSeconds: 60,
    repairIntervalSeconds: 0,
    future: { x: 1 },
  };
  await writeNodeConfig(file, config, false);
  t.assert.deepStrictEqual(await readNodeConfig(file), config);
});

test('validateNodeConfig refuses every damaged field with ERR_HOME_INVALID', (t: TestContext) => {
  const cases: Record<string, unknown> = {
    'not an object': [1, 2],
    'another version': { ...good(), version: 2 },
    'an upper-case node UUID': { ...good(), nodeUuid: newUuid().toUpperCase() },
    'a path as node UUID': { ...good(), nodeUuid: '../../x' },
    'an empty name': { ...good(), name: '' },
    'a name with control characters': { ...good(), name: 'a\u0007b' },
    'a missing active key': { ...good(), activeKey: undefined },
    'a bad time': { ...good(), createdAt: 'yesterday' },
    'a bad listen': { ...good(), listen: 'everywhere' },
    'relative stores': { ...good(), stores: ['disk1'] },
    'a negative trash grace': { ...good(), trashGraceSeconds: -1 },
    'a fractional trash grace': { ...good(), trashGraceSeconds: 1.5 },
    'a trash grace as text': { ...good(), trashGraceSeconds: '1d' },
    'a trash grace over ten years': { ...good(), trashGraceSeconds: 11 * 365 * 86400 },
    'a negative scrub pass': { ...good(), scrubPassSeconds: -1 },
    'a scrub pass as text': { ...good(), scrubPassSeconds: '30d' },
    'a fractional scrub rate': { ...good(), scrubMaxBytesPerSecond: 0.5 },
    'a scrub rate over 1 TiB/s': { ...good(), scrubMaxBytesPerSecond: 2 ** 40 + 1 },
    'a negative repair delay': { ...good(), repairGoneSeconds: -1 },
    'a repair delay as text': { ...good(), repairGoneSeconds: '15m' },
    'a fractional repair interval': { ...good(), repairIntervalSeconds: 0.5 },
    'a repair interval over ten years': { ...good(), repairIntervalSeconds: 11 * 365 * 86400 },
  };
  for (const [name, value] of Object.entries(cases)) {
    t.assert.throws(() => validateNodeConfig(value, 'node.json'), invalid, name);
  }
});

test('readNodeConfig refuses a missing file or invalid JSON with ERR_HOME_INVALID', async (t: TestContext) => {
  const dir = await tmpDir(t);
  await t.assert.rejects(readNodeConfig(join(dir, 'node.json')), invalid);
  await writeFile(join(dir, 'node.json'), '{"version":1,', { mode: 0o600 });
  await t.assert.rejects(readNodeConfig(join(dir, 'node.json')), invalid);
});

test('writeNodeConfig refuses to write an invalid config or replace a file unless told', async (t: TestContext) => {
  const file = join(await tmpDir(t), 'node.json');
  await t.assert.rejects(writeNodeConfig(file, { ...good(), name: '' }, false), invalid);
  await writeNodeConfig(file, good(), false);
  const before = await readFile(file, 'utf8');
  await t.assert.rejects(writeNodeConfig(file, good(), false), (err) =>
    isArozError(err, 'ERR_OUTPUT_EXISTS'),
  );
  t.assert.strictEqual(await readFile(file, 'utf8'), before);
});

test('jobConcurrency: 1 to 64 jobs at once, else ERR_HOME_INVALID; the daemon runs 4 when node.json does not say', (t: TestContext) => {
  for (const n of [1, 4, 64])
    t.assert.strictEqual(validateNodeConfig({ ...good(), jobConcurrency: n }, 'x').jobConcurrency, n);
  for (const n of [0, 65, 1.5, '4', -1]) {
    t.assert.throws(() => validateNodeConfig({ ...good(), jobConcurrency: n }, 'x'), invalid, String(n));
  }
  t.assert.strictEqual(daemonSettings({}, good()).jobConcurrency, DEFAULT_JOB_CONCURRENCY);
  t.assert.strictEqual(DEFAULT_JOB_CONCURRENCY, 4);
  t.assert.strictEqual(daemonSettings({}, { ...good(), jobConcurrency: 2 }).jobConcurrency, 2);
});
