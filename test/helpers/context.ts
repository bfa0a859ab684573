/**
 * Per-test resources with LIFO teardown. node:test runs several `t.after` hooks first-in-first-out;
 * here everything a test starts is pushed on one stack and released last-in-first-out, so a node
 * stops before its temp folder is removed.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';

const stacks = new WeakMap<TestContext, AsyncDisposableStack>();

/** The test's teardown stack (created on first use, disposed after the test). */
export function teardown(t: TestContext): AsyncDisposableStack {
  let stack = stacks.get(t);
  if (stack === undefined) {
    const created = new AsyncDisposableStack();
    stacks.set(t, created);
    t.after(() => created.disposeAsync());
    stack = created;
  }
  return stack;
}

/** A fresh temporary folder, removed after the test. */
export async function tmpDir(t: TestContext, prefix = 'arozdfs-test-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  teardown(t).defer(() => rm(dir, { recursive: true, force: true }));
  return dir;
}
