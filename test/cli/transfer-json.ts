/**
 * The `--json` contract of `upload`, `download` and `jobs`, checked against docs/cli-json.md itself:
 * the tables of those sections are parsed (field, type, optional) and every line the CLI prints in
 * these tests is held to them — its type, every required field and its type, no undocumented field,
 * the `command` name, progress lines before exactly one final line, the finished progress line
 * printed, and an exit code that agrees with the final line. `cliJson` is the only way the transfer
 * and jobs tests run the CLI, so no line escapes the check.
 */
import { readFileSync } from 'node:fs';
import type { TestContext } from 'node:test';
import { ArozError, ERROR_CODES, type ErrorCode, exitCodeOf } from '../../src/errors.ts';
import { type CliOptions, type CliRun, runCli } from '../helpers/cli.ts';

interface Field {
  types: string[];
  optional: boolean;
}
type Table = Map<string, Field>;

const DOC = new URL('../../docs/cli-json.md', import.meta.url);

/** Every table of the doc, keyed by the heading above it (without `#`s and backticks). */
function parseTables(text: string): Map<string, Table> {
  const tables = new Map<string, Table>();
  let heading = '';
  let rows: string[][] | undefined;
  const flush = () => {
    if (rows === undefined || tables.has(heading)) return;
    const table: Table = new Map();
    for (const [name = '', type = ''] of rows.slice(2)) {
      const optional = /\(optional\)/.test(type);
      const types = type
        .replace(/\(optional\)/, '')
        .split(' or ')
        .map((s) => s.trim());
      table.set(name.replaceAll('`', '').trim(), { types, optional });
    }
    tables.set(heading, table);
  };
  for (const line of text.split('\n')) {
    const h = /^#{2,4} (.*)$/.exec(line);
    if (h !== null) {
      flush();
      rows = undefined;
      heading = h[1]!.replaceAll('`', '').trim();
    } else if (line.startsWith('|')) {
      rows ??= [];
      rows.push(line.split('|').slice(1, -1));
    } else if (rows !== undefined) {
      flush();
      rows = undefined;
      heading = `${heading} (after)`;
    }
  }
  flush();
  return tables;
}

const tables = parseTables(readFileSync(DOC, 'utf8'));

function table(prefix: string, exact = false): Table {
  const found = [...tables].find(([heading]) => (exact ? heading === prefix : heading.startsWith(prefix)));
  if (found === undefined) throw new Error(`docs/cli-json.md has no table under a heading "${prefix}…"`);
  return found[1];
}

const NAMED = ['placement', 'problem', 'job', 'batch file', 'skipped entry'] as const;
const SCHEMA = {
  progress: table('progress'),
  error: table('error'),
  upload: table('upload FILE'),
  download: table('download INDEX'),
  uploadBatch: table('upload PATH'),
  downloadFolder: table('download FOLDER'),
  detached: table('upload --detach'),
  jobsList: table('jobs list'),
  jobsOne: table('jobs show ID'),
  named: new Map(NAMED.map((name) => [name, table(name, true)])),
};

function typeProblem(value: unknown, type: string): string | undefined {
  const list = /^array of (.+)$/.exec(type);
  if (list !== null) {
    if (!Array.isArray(value)) return 'is not an array';
    for (const [k, item] of value.entries()) {
      const problem = typeProblem(item, list[1]!);
      if (problem !== undefined) return `[${k}] ${problem}`;
    }
    return undefined;
  }
  const named = SCHEMA.named.get(type as (typeof NAMED)[number]);
  if (named !== undefined) return objectProblem(value, named);
  const actual = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
  if (!['string', 'number', 'boolean', 'object', 'array', 'null'].includes(type)) {
    return `has a type "${type}" that the checker does not know`;
  }
  return actual === type ? undefined : `is ${actual}, not ${type}`;
}

/** What is wrong with `value` against a documented table (undefined: nothing). */
function objectProblem(value: unknown, spec: Table): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'is not an object';
  const record = value as Record<string, unknown>;
  for (const [name, field] of spec) {
    if (!(name in record)) {
      if (field.optional) continue;
      return `lacks the required field "${name}"`;
    }
    const problems = field.types.map((type) => typeProblem(record[name], type));
    if (problems.every((p) => p !== undefined)) return `field "${name}" ${problems.join(' / ')}`;
  }
  const extra = Object.keys(record).filter((k) => k !== 'type' && !spec.has(k));
  return extra.length > 0 ? `has undocumented fields ${extra.join(', ')}` : undefined;
}

/** The command name a result carries (`"jobs wait"`), from the CLI arguments. */
function commandOf(args: readonly string[]): string {
  const words: string[] = [];
  for (let k = 0; k < args.length; k++) {
    const arg = args[k]!;
    if (arg === '--home') k++;
    else if (!arg.startsWith('-')) words.push(arg);
  }
  return words[0] === 'jobs' ? `jobs ${words[1]}` : words[0]!;
}

function resultTable(command: string, line: Record<string, unknown>): Table {
  if (command === 'upload' || command === 'download') {
    if (line['detached'] === true) return SCHEMA.detached;
    if (command === 'upload' && 'stored' in line) return SCHEMA.uploadBatch;
    if (command === 'download' && 'downloaded' in line) return SCHEMA.downloadFolder;
    return SCHEMA[command];
  }
  if (command === 'jobs list') return SCHEMA.jobsList;
  return SCHEMA.jobsOne;
}

/** Every problem of one run's stdout against the contract; empty when it keeps it. */
export function contractProblems(args: readonly string[], run: CliRun): string[] {
  const command = commandOf(args);
  const problems: string[] = [];
  const text = run.stdout;
  if (text !== '' && !text.endsWith('\n')) problems.push('stdout does not end with a newline');
  const raw = text.split('\n').filter((l) => l !== '');
  if (raw.length === 0) return ['printed no line'];
  const lines: Array<Record<string, unknown>> = [];
  for (const [k, l] of raw.entries()) {
    try {
      lines.push(JSON.parse(l) as Record<string, unknown>);
    } catch {
      problems.push(`line ${k + 1} is not JSON: ${l.slice(0, 100)}`);
    }
  }
  for (const [k, line] of lines.entries()) {
    const where = `line ${k + 1} (${JSON.stringify(line).slice(0, 160)})`;
    const last = k === lines.length - 1;
    const type = line['type'];
    let problem: string | undefined;
    if (type === 'progress') {
      problem = last ? 'is a progress line at the end' : objectProblem(line, SCHEMA.progress);
      if (problem === undefined && !['upload', 'download'].includes(String(line['phase']))) {
        problem = `has phase "${String(line['phase'])}"`;
      }
    } else if (type === 'result' || type === 'error') {
      if (!last) problem = `is a ${type} line before the end`;
      else if (type === 'error') {
        problem = objectProblem(line, SCHEMA.error);
        if (problem === undefined && !Object.hasOwn(ERROR_CODES, String(line['code']))) {
          problem = `has an undocumented code "${String(line['code'])}"`;
        }
      } else {
        problem = objectProblem(line, resultTable(command, line));
        if (problem === undefined && line['command'] !== command) {
          problem = `names the command "${String(line['command'])}", not "${command}"`;
        }
      }
    } else problem = `has the type ${JSON.stringify(type)}`;
    if (problem !== undefined) problems.push(`${where} ${problem}`);
  }
  const final = lines.at(-1);
  // A batch whose result lists failed files exits as ERR_BATCH_INCOMPLETE does.
  const expected =
    final?.['type'] === 'result'
      ? typeof final['failed'] === 'number' && final['failed'] > 0
        ? 1
        : 0
      : exitCodeOf(new ArozError(String(final?.['code']) as ErrorCode, ''));
  if (run.code !== expected) problems.push(`exit code ${run.code}, expected ${expected} for the final line`);
  const progress = lines.filter((l) => l['type'] === 'progress');
  const lastProgress = progress.at(-1);
  if (final?.['type'] === 'result' && lastProgress !== undefined) {
    if (
      lastProgress['done'] !== lastProgress['total'] ||
      lastProgress['chunksDone'] !== lastProgress['chunks']
    ) {
      problems.push('the finished progress line (done == total, every chunk) was not printed');
    }
  }
  return problems;
}

export interface JsonRun extends CliRun {
  /** Every line, parsed. */
  all: Array<Record<string, unknown>>;
  /** The final line. */
  last: Record<string, unknown>;
  /** The final line's `code` (an error) or undefined (a result). */
  errorCode: string | undefined;
}

/** Fails the test unless every line of a finished `--json` run keeps docs/cli-json.md. */
export function checkedRun(t: TestContext, args: readonly string[], run: CliRun): JsonRun {
  const problems = contractProblems(args, run);
  t.assert.deepStrictEqual(problems, [], `arozdfs ${args.join(' ')}\nstderr: ${run.stderr.slice(0, 2000)}`);
  const all = run.lines();
  const last = all.at(-1)!;
  return {
    ...run,
    all,
    last,
    errorCode: last['type'] === 'error' ? String(last['code']) : undefined,
  };
}

/** Runs the CLI with `--json` and fails the test unless every line keeps docs/cli-json.md. */
export async function cliJson(
  t: TestContext,
  args: string[],
  options: CliOptions & { home: string },
): Promise<JsonRun> {
  const full = ['--json', ...args];
  return checkedRun(t, full, await runCli(full, { timeoutMs: 60_000, ...options }));
}
