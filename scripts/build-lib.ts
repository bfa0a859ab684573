/**
 * `npm run build:lib` (and `prepack`): the package's JavaScript and type declarations in lib/, from
 * src/ (docs/install.md "A library"). TypeScript emits lib/ with the `.ts` of relative imports
 * rewritten to `.js`; declarations keep `.ts` there, so they are rewritten here too, and the web UI's
 * files are copied beside the web server that reads them.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..');
const LIB = join(ROOT, 'lib');
rmSync(LIB, { recursive: true, force: true });
const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
// Everything goes to stderr: `npm pack --json` prints its JSON on stdout after this script.
execFileSync(process.execPath, [tsc, '-p', join(ROOT, 'tsconfig.build.json')], { stdio: ['ignore', 2, 2] });

const relativeTs = /((?:from|import)\s*\(?\s*['"])(\.{1,2}\/[^'"]*?)\.ts(['"])/g;
let rewritten = 0;
for (const entry of readdirSync(LIB, { recursive: true, withFileTypes: true })) {
  if (!entry.isFile() || !entry.name.endsWith('.d.ts')) continue;
  const path = join(entry.parentPath, entry.name);
  const text = readFileSync(path, 'utf8');
  const next = text.replace(relativeTs, '$1$2.js$3');
  if (next !== text) {
    writeFileSync(path, next);
    rewritten += 1;
  }
}
cpSync(join(ROOT, 'src', 'web', 'assets'), join(LIB, 'web', 'assets'), { recursive: true });
console.error(`Built lib/ (${rewritten} declaration files with .js imports; web UI assets copied)`);
