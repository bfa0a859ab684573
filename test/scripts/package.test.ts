/**
 * The library build (docs/install.md "A library"): `npm pack` (its `prepack` emits lib/) makes a
 * tarball with JavaScript and declarations and no development files; unpacked into a temporary
 * project as npm would install it (its runtime dependencies linked from this checkout, so nothing is
 * fetched), it is imported under plain Node without type stripping and slices and merges a file,
 * and a TypeScript consumer type-checks against its declarations.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runProcess } from '../helpers/cli.ts';
import { tmpDir } from '../helpers/context.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function hasNpm(): boolean {
  try {
    execFileSync('npm', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** The packages npm installs with arozdfs: package-lock.json's entries that are not dev-only. */
async function runtimePackages(): Promise<string[]> {
  const lock = JSON.parse(await readFile(join(ROOT, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { dev?: boolean }>;
  };
  return Object.entries(lock.packages)
    .filter(([path, entry]) => path.startsWith('node_modules/') && entry.dev !== true)
    .map(([path]) => path.slice('node_modules/'.length));
}

const CONSUMER = `
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Daemon, decodeIndex, mergeFile, sliceFile } from 'arozdfs';

const dir = process.argv[2];
const bytes = Buffer.alloc(3 * 1024 * 1024 + 77);
for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 2654435761) >>> 24;
await writeFile(join(dir, 'data.bin'), bytes);
const sliced = await sliceFile(join(dir, 'data.bin'), { chunkSize: 1024 * 1024 });
const index = decodeIndex(await readFile(sliced.indexPath));
const merged = await mergeFile(sliced.indexPath, { out: join(dir, 'copy.bin') });
const sha = (b) => createHash('sha256').update(b).digest('hex');
console.log(JSON.stringify({
  chunks: index.chunks.length,
  identical: sha(await readFile(join(dir, 'copy.bin'))) === sha(bytes),
  merged: typeof merged,
  daemon: typeof Daemon.start,
  stripTypes: process.features.typescript,
}));
`;

const TYPED_CONSUMER = `
import { type IndexFile, decodeIndex, sliceFile, Daemon, type DaemonOptions } from 'arozdfs';
const options: DaemonOptions = { home: '/tmp/none' };
export async function f(path: string): Promise<number> {
  const result = await sliceFile(path, { chunkSize: 1024 });
  const index: IndexFile = decodeIndex(JSON.stringify(result.index));
  void Daemon.start;
  void options;
  return index.chunks.length;
}
`;

test('npm pack makes a package that plain Node imports and that slices and merges a file', {
  skip: hasNpm() ? false : 'npm is not installed',
}, async (t: TestContext) => {
  const dir = await tmpDir(t);
  const packed = JSON.parse(
    execFileSync('npm', ['pack', '--json', '--pack-destination', dir], {
      cwd: ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  ) as Array<{ filename: string; files: Array<{ path: string }> }>;
  const files = packed[0]!.files.map((f) => f.path);
  for (const wanted of [
    'lib/index.js',
    'lib/index.d.ts',
    'lib/chunk/hash-worker.js',
    'lib/web/assets/index.html',
  ]) {
    t.assert.ok(files.includes(wanted), `${wanted} is packed`);
  }
  const dev = files.filter(
    (f) =>
      /^(src|test|bench|scripts|\.ci)\/|^tsconfig|^biome/.test(f) ||
      (f.endsWith('.ts') && !f.endsWith('.d.ts')),
  );
  t.assert.deepStrictEqual(dev, [], 'no development files');

  const project = join(dir, 'project');
  const pkg = join(project, 'node_modules', 'arozdfs');
  await mkdir(pkg, { recursive: true });
  execFileSync('tar', ['-xzf', join(dir, packed[0]!.filename), '-C', pkg, '--strip-components=1']);
  for (const name of await runtimePackages()) {
    await mkdir(dirname(join(project, 'node_modules', name)), { recursive: true });
    await symlink(join(ROOT, 'node_modules', name), join(project, 'node_modules', name));
  }
  await writeFile(join(project, 'package.json'), '{ "type": "module", "private": true }\n');
  await writeFile(join(project, 'consumer.js'), CONSUMER);

  const run = await runProcess(process.execPath, ['--no-experimental-strip-types', 'consumer.js', dir], {
    cwd: project,
  });
  t.assert.strictEqual(run.code, 0, run.stderr);
  t.assert.deepStrictEqual(JSON.parse(run.stdout), {
    chunks: 4,
    identical: true,
    merged: 'object',
    daemon: 'function',
    stripTypes: false,
  });

  const cli = await runProcess(process.execPath, [join(pkg, 'bin', 'arozdfs.js'), '--version'], {
    cwd: project,
  });
  t.assert.strictEqual(cli.code, 0, cli.stderr);

  // A TypeScript consumer (strict, without .ts imports) type-checks against the declarations.
  await symlink(join(ROOT, 'node_modules', '@types'), join(project, 'node_modules', '@types'));
  await writeFile(join(project, 'typed.ts'), TYPED_CONSUMER);
  await writeFile(
    join(project, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: { module: 'nodenext', target: 'esnext', strict: true, noEmit: true, types: ['node'] },
      files: ['typed.ts'],
    }),
  );
  const tsc = await runProcess(
    process.execPath,
    [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', project],
    {
      cwd: project,
    },
  );
  t.assert.strictEqual(tsc.code, 0, tsc.stdout + tsc.stderr);
});
