#!/usr/bin/env node
// Plain-JS launcher: runs src/cli.ts on Node >= 24.12 (native type stripping), preferring the Node
// the project pins in node_modules when the Node on PATH is older. The npm package has no src/: there
// it runs the emitted lib/cli.js (npm run build:lib). It turns on Node's compile cache first
// (docs/architecture.md, "Start-up"): a command then skips type stripping and most compiling.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import module from 'node:module';
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const source = fileURLToPath(new URL('../src/cli.ts', import.meta.url));
const cli = existsSync(source) ? source : fileURLToPath(new URL('../lib/cli.js', import.meta.url));
const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);

/**
 * This user's folder for Node's compile cache: $XDG_CACHE_HOME/arozdfs/compile-cache, else
 * ~/.cache/arozdfs/compile-cache; undefined when NODE_COMPILE_CACHE names one (Node uses it) or no
 * home is known. Per user, not in the shared temp folder: another user must not write code we load.
 */
function compileCacheDir() {
  if (process.env.NODE_COMPILE_CACHE) return undefined;
  const xdg = process.env.XDG_CACHE_HOME;
  let base = xdg && isAbsolute(xdg) ? xdg : undefined;
  if (base === undefined) {
    try {
      const home = homedir();
      if (isAbsolute(home) && home !== '/') base = join(home, '.cache');
    } catch {
      // no home directory for this user: no cache
    }
  }
  return base === undefined ? undefined : join(base, 'arozdfs', 'compile-cache');
}

/**
 * A daemon keeps for its lifetime what its start loads, and a .ts file the compile cache does not
 * hold makes Node load its type stripper (some 25 MiB of RSS; docs/architecture.md, "Compile
 * cache"). So before a command that may run a daemon, the cache is filled by a short-lived process
 * that loads every command module (`--help`): about 0.1 s once the cache is warm. A word matched by
 * chance (a file named "start") only costs that. Nothing to do without a cache or without sources.
 * @param {string} node the Node binary to run
 * @param {NodeJS.ProcessEnv} env its environment, naming the cache
 */
function warmCacheForDaemon(node, env) {
  if (cli !== source || !env.NODE_COMPILE_CACHE || env.NODE_DISABLE_COMPILE_CACHE === '1') return;
  if (!process.argv.slice(2).some((word) => DAEMON_WORDS.has(word))) return;
  spawnSync(node, [cli, '--help'], { stdio: 'ignore', env, timeout: 120_000 });
}
/** The commands that run a daemon: `serve`, `start` (npm start), `demo` (its nodes run `serve`). */
const DAEMON_WORDS = new Set(['serve', 'start', 'demo']);

if (major > 24 || (major === 24 && minor >= 12)) {
  // Failing to make the folder (read-only home, say) only means no cache. NODE_DISABLE_COMPILE_CACHE=1
  // turns it off.
  const dir = compileCacheDir();
  if (dir !== undefined || process.env.NODE_COMPILE_CACHE) module.enableCompileCache?.(dir);
  // Only when the cache is on (a folder that cannot be written leaves it off): else every start
  // would pay for a warm-up that keeps nothing.
  if (module.getCompileCacheDir?.() !== undefined) {
    warmCacheForDaemon(
      process.execPath,
      dir === undefined ? process.env : { ...process.env, NODE_COMPILE_CACHE: dir },
    );
  }
  // Imported, src/cli.ts is not the main module (its `import.meta.main` guard is false): call main().
  // String literals, so that a bundler can follow them.
  const { main } = cli === source ? await import('../src/cli.ts') : await import(cli);
  process.exitCode = await main(process.argv.slice(2));
} else {
  const pinned = fileURLToPath(new URL('../node_modules/node/bin/node', import.meta.url));
  if (!existsSync(pinned)) {
    console.error(
      `arozdfs: Node >= 24.12 is needed (this is Node ${process.versions.node}); run "npm ci" first.`,
    );
    process.exitCode = 1;
  } else {
    const dir = compileCacheDir();
    const env = dir === undefined ? process.env : { ...process.env, NODE_COMPILE_CACHE: dir };
    warmCacheForDaemon(pinned, env);
    const child = spawn(pinned, [cli, ...process.argv.slice(2)], { stdio: 'inherit', env });
    for (const sig of /** @type {const} */ (['SIGINT', 'SIGTERM', 'SIGHUP'])) {
      process.on(sig, () => child.kill(sig));
    }
    child.on('exit', (code, signal) => {
      process.exitCode = code ?? (signal === 'SIGINT' ? 130 : 1);
    });
  }
}
