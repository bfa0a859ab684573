/**
 * The checker of the `--json` contract (transfer-json.ts) refuses what docs/cli-json.md does not
 * allow — so the transfer tests that pass through it really check something.
 */
import { type TestContext, test } from 'node:test';
import type { CliRun } from '../helpers/cli.ts';
import { contractProblems } from './transfer-json.ts';

const UUID = '5e2f4c1a-7b3d-4e8f-9a0b-1c2d3e4f5a6b';
const SHA = 'a'.repeat(64);

function run(lines: unknown[], code = 0): CliRun {
  const stdout = lines.map((l) => `${JSON.stringify(l)}\n`).join('');
  return { code, signal: null, stdout, stderr: '', lines: () => lines as Array<Record<string, unknown>> };
}

const progress = (done: number) => ({
  type: 'progress',
  phase: 'download',
  done,
  total: 10,
  chunksDone: done / 10,
  chunks: 1,
});
const download = {
  type: 'result',
  command: 'download',
  job: UUID,
  out: '/x',
  size: 10,
  sha256: SHA,
  chunks: 1,
  fetched: 1,
  signer: null,
  problems: [{ i: 0, uuid: UUID, node: UUID, code: 'ERR_CHUNK_HASH', message: 'bad' }],
};
const args = ['--json', '--home', '/h', 'download', '/i.json'];

test('contractProblems() accepts progress lines then one documented result', (t: TestContext) => {
  t.assert.deepStrictEqual(contractProblems(args, run([progress(0), progress(10), download])), []);
  const detached = { type: 'result', command: 'upload', detached: true, job: UUID, state: 'queued' };
  t.assert.deepStrictEqual(contractProblems(['--json', 'upload', '/f', '--detach'], run([detached])), []);
  const error = { type: 'error', code: 'ERR_INTERRUPTED', message: 'cancelled' };
  t.assert.deepStrictEqual(contractProblems(['--json', 'jobs', 'wait', UUID], run([error], 130)), []);
});

test('contractProblems() refuses missing, mistyped and undocumented fields, bad order and exit codes', (t: TestContext) => {
  const { fetched: _, ...noFetched } = download;
  const bad: Array<[string, CliRun, string[]?]> = [
    ['a required field is missing', run([noFetched])],
    ['a field has the wrong type', run([{ ...download, size: '10' }])],
    [
      'a nested item has the wrong type',
      run([{ ...download, problems: [{ ...download.problems[0], i: '0' }] }]),
    ],
    ['a field is not documented', run([{ ...download, extra: 1 }])],
    ['the command is another', run([{ ...download, command: 'upload' }])],
    ['a progress line comes last', run([download, progress(10)])],
    ['two final lines', run([download, download])],
    ['the finished progress line is missing', run([progress(0), download])],
    ['the exit code disagrees', run([download], 1)],
    ['an undocumented error code', run([{ type: 'error', code: 'ERR_NOPE', message: 'x' }], 1)],
    [
      'a job record without its state',
      run([{ type: 'result', command: 'jobs show', job: { id: UUID } }]),
      ['--json', 'jobs', 'show', UUID],
    ],
    ['no line at all', run([])],
  ];
  for (const [what, r, argv] of bad) {
    t.assert.notDeepStrictEqual(contractProblems(argv ?? args, r), [], what);
  }
});
