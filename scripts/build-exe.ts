/**
 * `npm run build:exe`: one executable file, dist/arozdfs, that runs every command with nothing else
 * installed (docs/install.md). A Node single-executable application:
 *
 * 1. esbuild bundles src/cli.ts and its dependencies into one CommonJS file (Node 24's executables
 *    run a CommonJS main script); the hash worker (src/chunk/hash-worker.js) is bundled on its own
 *    and handed to `new Worker` as a `data:` URL; the version is written in as a constant.
 * 2. Node (`--experimental-sea-config`) turns it into a blob, with the web UI's files as assets.
 * 3. postject injects the blob into a copy of a Node binary: by default the pinned Node 24 in
 *    node_modules (linux-x64 here); `--node PATH` takes another platform's binary (linux-arm64), and
 *    then the blob is made without V8's code cache, which only the same platform could use.
 *
 * Options: --node PATH, --out FILE (default dist/arozdfs; its work files go beside it in
 * .arozdfs-build/), --strip (drop the Node binary's symbols: about 17 MiB less). Prints what it made.
 */
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { build, type Plugin } from 'esbuild';

const ROOT = resolve(import.meta.dirname, '..');
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

const { values } = parseArgs({
  options: { node: { type: 'string' }, out: { type: 'string' }, strip: { type: 'boolean', default: false } },
});
const nodeBinary = resolve(values.node ?? join(ROOT, 'node_modules', 'node', 'bin', 'node'));
const out = resolve(values.out ?? join(ROOT, 'dist', 'arozdfs'));
const crossBuild = values.node !== undefined;
const work = join(dirname(out), `.${basename(out)}-build`);
rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });

const started = performance.now();
const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

// The hash worker as a self-contained ES module: Node's Worker runs a `data:` URL as one.
const worker = await build({
  entryPoints: [join(ROOT, 'src', 'chunk', 'hash-worker.js')],
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node24',
  write: false,
  minify: true,
  logLevel: 'error',
});
const workerUrl = `data:text/javascript;base64,${Buffer.from(worker.outputFiles[0]!.contents).toString('base64')}`;

/** What differs in the executable: the version as a constant, the worker as a data: URL. */
const seaPlugin: Plugin = {
  name: 'arozdfs-sea',
  setup(b) {
    b.onLoad({ filter: /[\\/]src[\\/]version\.ts$/ }, () => ({
      contents: `export const VERSION: string = ${JSON.stringify(version)};`,
      loader: 'ts',
    }));
    b.onLoad({ filter: /[\\/]src[\\/]chunk[\\/]ring\.ts$/ }, (args) => {
      const source = readFileSync(args.path, 'utf8');
      const pattern = /new URL\(\s*'\.\/hash-worker\.js',\s*import\.meta\.url\s*\)/g;
      const found = source.match(pattern)?.length ?? 0;
      if (found !== 1) {
        throw new Error(
          `build-exe: expected one "new URL('./hash-worker.js', import.meta.url)" in ring.ts, found ${found}`,
        );
      }
      return { contents: source.replace(pattern, `new URL(${JSON.stringify(workerUrl)})`), loader: 'ts' };
    });
  },
};

const bundlePath = join(work, 'arozdfs.cjs');
const result = await build({
  stdin: {
    contents:
      "import { main } from './src/cli.ts';\nmain(process.argv.slice(2)).then((code) => { process.exitCode = code; });\n",
    resolveDir: ROOT,
    sourcefile: 'exe-main.ts',
    loader: 'ts',
  },
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node24',
  outfile: bundlePath,
  // The executable's main script is CommonJS: import.meta does not exist there. `main` is false (the
  // entry above calls main()); url and dirname point at the executable, so module-level paths
  // computed from them are harmless (src/runtime.ts says where the real files are).
  define: {
    'import.meta.main': 'false',
    'import.meta.url': '__arozdfsSelfUrl',
    'import.meta.dirname': '__arozdfsSelfDir',
    'import.meta.filename': '__arozdfsSelfFile',
  },
  banner: {
    js: [
      'const __arozdfsSelfFile = process.execPath;',
      "const __arozdfsSelfDir = require('node:path').dirname(process.execPath);",
      "const __arozdfsSelfUrl = require('node:url').pathToFileURL(process.execPath).href;",
    ].join('\n'),
  },
  // Dynamic import() of a built-in (node:sqlite) becomes require(): the executable's main script
  // has no module loader for import().
  supported: { 'dynamic-import': false },
  plugins: [seaPlugin],
  minifySyntax: true,
  legalComments: 'none',
  logLevel: 'warning',
  metafile: true,
});
if (result.errors.length > 0) process.exit(1);

// Every file of the web UI, under web/<name>, whatever the web UI's page lists.
const assets: Record<string, string> = {};
const assetDir = join(ROOT, 'src', 'web', 'assets');
for (const entry of readdirSync(assetDir, { recursive: true, withFileTypes: true })) {
  if (!entry.isFile()) continue;
  const path = join(entry.parentPath, entry.name);
  assets[`web/${relative(assetDir, path).split('\\').join('/')}`] = path;
}

const blob = join(work, 'sea-prep.blob');
const config = {
  main: bundlePath,
  output: blob,
  disableExperimentalSEAWarning: true,
  useSnapshot: false,
  useCodeCache: !crossBuild,
  assets,
};
writeFileSync(join(work, 'sea-config.json'), `${JSON.stringify(config, null, 2)}\n`);
execFileSync(process.execPath, ['--experimental-sea-config', join(work, 'sea-config.json')], {
  stdio: ['ignore', 'pipe', 'inherit'],
});

mkdirSync(resolve(out, '..'), { recursive: true });
rmSync(out, { force: true });
if (values.strip) {
  // Node's binary carries its symbols: without them it is about 17 MiB smaller (and crash
  // backtraces name no C++ functions).
  execFileSync('strip', ['-o', out, nodeBinary], { stdio: ['ignore', 'ignore', 'inherit'] });
} else {
  copyFileSync(nodeBinary, out);
}
chmodSync(out, 0o755);
const postject = join(ROOT, 'node_modules', 'postject', 'dist', 'cli.js');
// postject warns about every ELF note section of Node's binary: its output is shown only on failure.
execFileSync(process.execPath, [postject, out, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', SEA_FUSE], {
  stdio: ['ignore', 'pipe', 'pipe'],
});

const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;
console.log(
  `Built ${relative(process.cwd(), out) || out}: ${mib(statSync(out).size)} ` +
    `(bundle ${mib(statSync(bundlePath).size)}, ${Object.keys(assets).length} web assets, Node from ${nodeBinary}` +
    `${crossBuild ? ', no code cache' : ''}) in ${((performance.now() - started) / 1000).toFixed(1)} s`,
);
