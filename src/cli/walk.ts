/**
 * What `arozdfs upload PATH…` stores, and under which names (docs/catalog.md "Folders"): a file is
 * named by its own name; the files of a folder by the folder's name and their path in it, joined by
 * "/" (`upload ~/photos` → `photos/2024/img_0001.jpg`). Symlinks named on the command line are
 * followed (as `upload FILE` always did); symlinks inside a folder are skipped and reported, never
 * followed (nothing outside the folder is stored, and no loop is possible). Empty folders are
 * reported, not stored (the catalog holds files). A name the catalog cannot hold (not UTF-8, a "\",
 * a control character, over 255 bytes) is reported as failed. Anything else that is not a regular
 * file (a FIFO, a socket, a device) goes to the batch, whose job reports it failed (ERR_NOT_A_FILE).
 */
import type { Dirent } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { ArozError, fromSystemError } from '../errors.ts';
import { filePathProblem } from '../index-file/index.ts';
import type { BatchUploadEntry } from '../ops/jobs.ts';

export interface SkippedEntry {
  path: string;
  name: string;
  reason: 'symlink' | 'empty-folder';
}

export interface FailedEntry {
  path: string;
  name: string;
  state: 'failed';
  error: { code: string; message: string };
}

export interface BatchPlan {
  files: BatchUploadEntry[];
  skipped: SkippedEntry[];
  failed: FailedEntry[];
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The files of the paths given, each with its catalog name, sorted by name. */
export async function planBatch(args: readonly string[]): Promise<BatchPlan> {
  const plan: BatchPlan = { files: [], skipped: [], failed: [] };
  for (const arg of args) {
    const path = resolve(arg);
    const info = await stat(path).catch((err: unknown) => {
      throw fromSystemError(err, `Cannot upload "${arg}"`);
    });
    const name = basename(path);
    if (name === '') throw new ArozError('ERR_USAGE', `Cannot upload "${arg}": the top folder has no name`);
    if (info.isDirectory()) await walk(path, name, plan);
    else add(plan, path, name);
  }
  const seen = new Map<string, string>();
  for (const f of plan.files) {
    const other = seen.get(f.name);
    if (other !== undefined) {
      throw new ArozError(
        'ERR_USAGE',
        `"${other}" and "${f.path}" would both be stored as "${f.name}": upload them separately`,
      );
    }
    seen.set(f.name, f.path);
  }
  const byName = (a: { name: string }, b: { name: string }) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
  plan.files.sort(byName);
  plan.skipped.sort(byName);
  plan.failed.sort(byName);
  return plan;
}

function add(plan: BatchPlan, path: string, name: string): void {
  const problem = filePathProblem(name);
  if (problem === undefined) plan.files.push({ path, name });
  else invalid(plan, path, name, `its name ${problem}, which the catalog cannot hold`);
}

function invalid(plan: BatchPlan, path: string, name: string, why: string): void {
  plan.failed.push({
    path,
    name,
    state: 'failed',
    error: { code: 'ERR_INDEX_INVALID', message: `Cannot upload "${path}": ${why}` },
  });
}

async function walk(dir: string, name: string, plan: BatchPlan): Promise<void> {
  let entries: Dirent<Buffer>[];
  try {
    entries = await readdir(dir, { withFileTypes: true, encoding: 'buffer' });
  } catch (err) {
    const failed = fromSystemError(err, `Cannot read the folder "${dir}"`);
    if (!(failed instanceof ArozError)) throw failed;
    plan.failed.push({
      path: dir,
      name,
      state: 'failed',
      error: { code: failed.code, message: failed.message },
    });
    return;
  }
  if (entries.length === 0) {
    plan.skipped.push({ path: dir, name, reason: 'empty-folder' });
    return;
  }
  for (const entry of entries) {
    let part: string;
    try {
      part = utf8.decode(entry.name);
    } catch {
      invalid(
        plan,
        join(dir, entry.name.toString()),
        `${name}/${entry.name.toString()}`,
        'its name is not UTF-8',
      );
      continue;
    }
    const child = join(dir, part);
    const childName = `${name}/${part}`;
    if (entry.isSymbolicLink()) plan.skipped.push({ path: child, name: childName, reason: 'symlink' });
    else if (entry.isDirectory()) await walk(child, childName, plan);
    else add(plan, child, childName);
  }
}
