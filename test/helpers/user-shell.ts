/**
 * Running what the README tells a person to type, as that person would: from this checkout, with
 * the PATH of their shell (npm adds node_modules/.bin only for its own runs, so those entries are
 * taken out), and — for commands that listen on fixed or unspecified addresses — inside a network
 * namespace of their own (`unshare -n`, root), so nothing listens on this machine's interfaces.
 */
import { execFileSync } from 'node:child_process';
import { delimiter, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** This checkout. */
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** PATH as a person's shell has it: without the node_modules/.bin folders npm put there. */
export const USER_PATH = (process.env['PATH'] ?? '')
  .split(delimiter)
  .filter((dir) => dir !== '' && !dir.split(sep).includes('node_modules'))
  .join(delimiter);

function works(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): boolean {
  try {
    execFileSync(command, args, { stdio: 'ignore', timeout: 30_000, env });
    return true;
  } catch {
    return false;
  }
}

/** Why `npm` and `npx` cannot be run from a person's PATH here, or false when they can. */
export const noNpm: string | false = works('npm', ['--version'], { ...process.env, PATH: USER_PATH })
  ? false
  : 'npm is not on PATH outside node_modules/.bin';

/** A veth pair carrying 10.77.1.1/24, and loopback up: a network namespace with a real interface. */
export const VETH_SETUP =
  'ip link add v0 type veth peer name v1 && ip addr add 10.77.1.1/24 dev v0 && ip link set v0 up && ip link set v1 up';
export const LO_SETUP = 'ip link set lo up';

/** Why network-namespace tests cannot run here, or false when they can. */
export const noNetns: string | false =
  process.getuid?.() !== 0
    ? 'needs root to make a network namespace (unshare -n)'
    : !works('unshare', ['-n', 'sh', '-c', LO_SETUP])
      ? 'cannot make a network namespace here (needs unshare and ip)'
      : false;

/** Why a namespace with a veth interface cannot be made here, or false when it can. */
export const noVeth: string | false =
  noNetns ||
  (works('unshare', ['-n', 'sh', '-c', `${LO_SETUP} && ${VETH_SETUP}`])
    ? false
    : 'cannot add a veth pair in a network namespace here (no veth support)');
