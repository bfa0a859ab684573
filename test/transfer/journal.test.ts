import { appendFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { isArozError } from '../../src/errors.ts';
import { FileDownloadJournal, FileUploadJournal, type UploadPlan } from '../../src/transfer/index.ts';
import { newUuid } from '../../src/uuid.ts';
import { tmpDir } from '../helpers/context.ts';

function samplePlan(): UploadPlan {
  const nodes = [newUuid(), newUuid()];
  return {
    indexId: newUuid(),
    createdAt: '2026-11-26T10:15:30.123Z',
    file: { path: '/data/movie.mkv', size: 10000, mtimeNs: '1764152130123456789' },
    chunkSize: 4096,
    nodes,
    shift: 1,
    copies: 2,
    chunks: [0, 1, 2].map((i) => ({ i, uuid: newUuid(), targets: [nodes[i % 2]!, nodes[(i + 1) % 2]!] })),
  };
}

test('FileUploadJournal gives back the plan and the copies recorded', async (t: TestContext) => {
  const journal = new FileUploadJournal(join(await tmpDir(t), 'j.jsonl'));
  t.after(() => journal.close());
  t.assert.strictEqual(await journal.load(), undefined);
  const plan = samplePlan();
  await journal.writePlan(plan);
  const copy = { i: 1, pass: 0, node: plan.nodes[1]!, sha256: 'a'.repeat(64) };
  await journal.recordCopy(copy);
  t.assert.deepStrictEqual(await journal.load(), { plan, copies: [copy] });
  await journal.writePlan(plan);
  t.assert.deepStrictEqual(await journal.load(), { plan, copies: [] }, 'a new plan replaces everything');
});

test('a torn last line is dropped, and the next record starts on a line of its own', async (t: TestContext) => {
  const path = join(await tmpDir(t), 'j.jsonl');
  const journal = new FileUploadJournal(path);
  t.after(() => journal.close());
  const plan = samplePlan();
  await journal.writePlan(plan);
  await appendFile(path, '{"type":"copy","i":0,"pa');
  t.assert.deepStrictEqual((await journal.load())?.copies, []);
  const copy = { i: 0, pass: 1, node: plan.nodes[0]!, sha256: 'b'.repeat(64) };
  await journal.recordCopy(copy);
  t.assert.deepStrictEqual((await journal.load())?.copies, [copy]);
  t.assert.ok((await readFile(path, 'utf8')).endsWith('\n'));
});

test('a damaged journal is refused with ERR_JOURNAL_INVALID', async (t: TestContext) => {
  const dir = await tmpDir(t);
  const plan = samplePlan();
  const upload = new FileUploadJournal(join(dir, 'u.jsonl'));
  await upload.writePlan(plan);
  const text = await readFile(upload.path, 'utf8');
  for (const damaged of [
    text.replace('"shift":1', '"shift":-1'),
    text.replace(plan.chunks[1]!.uuid, '../../etc/passwd'),
    `${text}not json\n`,
    `${text}{"type":"copy","i":0,"pass":0,"node":"x","sha256":"${'a'.repeat(64)}"}\n`,
    text.split('\n').slice(0, 2).join('\n').concat('\n'),
  ]) {
    await writeFile(upload.path, damaged);
    await t.assert.rejects(upload.load(), (err: unknown) => isArozError(err, 'ERR_JOURNAL_INVALID'));
  }
  const download = new FileDownloadJournal(join(dir, 'd.jsonl'));
  t.after(() => download.close());
  await download.writePlan({
    indexId: newUuid(),
    indexSha256: 'c'.repeat(64),
    out: join(dir, 'out.bin'),
    tempPath: '/etc/.passwd.123.arozdfs-tmp',
  });
  await t.assert.rejects(download.load(), (err: unknown) => isArozError(err, 'ERR_JOURNAL_INVALID'));
});
