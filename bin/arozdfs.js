#!/usr/bin/env node
// Plain-JS launcher: runs src/cli.ts on Node >= 24.12 (native type stripping), preferring the Node
// the project pins in node_modules when the Node on PATH is older. The npm package has no src/: there
// it runs the emitted lib/cli.js (npm run build:lib).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const source = fileURLToPath(new URL('../src/cli.ts', import.meta.url));
const cli = existsSync(source) ? source : fileURLToPath(new URL('../lib/cli.js', import.meta.url));
const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);

if (major > 24 || (major === 24 && minor >= 12)) {
  // Imported, src/cli.ts is not the main module (its `import.meta.main` guard is false): call main().
  const { main } = await import(cli);
  process.exitCode = await main(process.argv.slice(2));
} else {
  const pinned = fileURLToPath(new URL('../node_modules/node/bin/node', import.meta.url));
  if (!existsSync(pinned)) {
    console.error(
      `arozdfs: Node >= 24.12 is needed (this is Node ${process.versions.node}); run "npm ci" first.`,
    );
    process.exitCode = 1;
  } else {
    const child = spawn(pinned, [cli, ...process.argv.slice(2)], { stdio: 'inherit' });
    for (const sig of /** @type {const} */ (['SIGINT', 'SIGTERM', 'SIGHUP'])) {
      process.on(sig, () => child.kill(sig));
    }
    child.on('exit', (code, signal) => {
      process.exitCode = code ?? (signal === 'SIGINT' ? 130 : 1);
    });
  }
}
