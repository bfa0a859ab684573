/**
 * `arozdfs service install [--user]` / `service uninstall [--user]`: a systemd unit that runs this
 * node (`arozdfs --home H start`: init on the first run, then serve with node.json's settings), and
 * restarts it on failure (docs/install.md "A service"). The system unit runs as a dedicated user with
 * the file system read-only except the home and the stores. Neither command calls systemctl: each
 * prints what it did and what to run next. `--print` shows the unit and changes nothing.
 */
import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { homedir, userInfo } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFileAtomic } from '../durable/index.ts';
import { ArozError, fromSystemError } from '../errors.ts';
import { homePaths } from '../home/paths.ts';
import { singleExecutable } from '../runtime.ts';
import type { CliContext, Register } from './context.ts';

export const UNIT_NAME = 'arozdfs.service';
/** The system unit's dedicated user, and its home when `--home` names none. */
export const SERVICE_USER = 'arozdfs';
export const SYSTEM_HOME = '/var/lib/arozdfs';
const MARKER = '# Written by "arozdfs service install"';
const LAUNCHER = fileURLToPath(new URL('../../bin/arozdfs.js', import.meta.url));

export interface UnitSpec {
  scope: 'system' | 'user';
  /** The command that runs arozdfs, as words (the executable, or Node and the launcher). */
  exec: string[];
  home: string;
  /** Extra store folders: `--store` in ExecStart and writable in the sandbox. */
  stores: string[];
  /** Folders the service may write besides the home (node.json's stores). */
  writable: string[];
  /** The system unit's user. */
  user: string;
}

/** A word as systemd's ExecStart reads it back (quoted when needed; `%` and `$` doubled). */
export function systemdWord(text: string): string {
  const escaped = text.replaceAll('%', '%%').replaceAll('$', '$$$$');
  return /^[\w@+=:,./-]+$/.test(escaped)
    ? escaped
    : `"${escaped.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
}

/** A path in ReadWritePaths= (space-separated; `-` ignores one that is missing at start). */
function rwPath(path: string): string {
  return `-${systemdWord(path)}`;
}

/** The unit file's text. */
export function renderUnit(spec: UnitSpec): string {
  const exec = [...spec.exec, '--home', spec.home, 'start', ...spec.stores.flatMap((s) => ['--store', s])];
  const writable = [...new Set([spec.home, ...spec.stores, ...spec.writable])];
  const system = spec.scope === 'system';
  const lines = [
    MARKER,
    '[Unit]',
    'Description=arozdfs node (distributed file store)',
    'After=network-online.target',
    'Wants=network-online.target',
    '',
    '[Service]',
    'Type=simple',
    ...(system ? [`User=${spec.user}`, `Group=${spec.user}`] : []),
    // Settings live in the home's ADDC/node.json (docs/config.md), so this line stays short.
    `ExecStart=${exec.map(systemdWord).join(' ')}`,
    // Two malloc arenas instead of one per thread: glibc otherwise keeps each thread's freed memory;
    // and young generations of 2 MiB semi-spaces, not V8's default of up to 32 (docs/transfer.md
    // "Memory").
    'Environment=MALLOC_ARENA_MAX=2',
    'Environment=NODE_OPTIONS=--max-semi-space-size=2',
    'Restart=on-failure',
    'RestartSec=5s',
    // serve stops gracefully on SIGTERM (transfers in flight finish or are aborted).
    'TimeoutStopSec=90s',
    'UMask=0077',
    'NoNewPrivileges=yes',
    'ProtectSystem=strict',
    `ReadWritePaths=${writable.map(rwPath).join(' ')}`,
    'PrivateTmp=yes',
    ...(system
      ? [
          'ProtectKernelTunables=yes',
          'ProtectKernelModules=yes',
          'ProtectControlGroups=yes',
          'RestrictSUIDSGID=yes',
          'RestrictRealtime=yes',
          'LockPersonality=yes',
          'CapabilityBoundingSet=',
          // Unix (control socket), IP (cluster port, web UI, mDNS), netlink (the interface list).
          'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK',
        ]
      : []),
    '',
    '[Install]',
    `WantedBy=${system ? 'multi-user.target' : 'default.target'}`,
    '',
  ];
  return lines.join('\n');
}

interface ServiceOptions {
  user?: boolean;
  runAs?: string;
  exec?: string;
  store?: string[];
  unitDir?: string;
  print?: boolean;
  force?: boolean;
}

function unitDir(options: ServiceOptions): string {
  if (options.unitDir !== undefined) return resolve(options.unitDir);
  if (options.user !== true) return '/etc/systemd/system';
  const config = process.env['XDG_CONFIG_HOME'];
  return join(
    config !== undefined && isAbsolute(config) ? config : join(homedir(), '.config'),
    'systemd',
    'user',
  );
}

/** The home of the unit: `--home` or $AROZDFS_HOME when given; else ~/.arozdfs, or SYSTEM_HOME for the system unit. */
function serviceHome(ctx: CliContext, options: ServiceOptions): string {
  const givenHome = ctx.home !== resolve(homedir(), '.arozdfs') || process.env['AROZDFS_HOME'] !== undefined;
  return givenHome || options.user === true ? ctx.home : SYSTEM_HOME;
}

/** The stores node.json lists, when this user can read it (else none: the unit still starts). */
function configuredStores(home: string): string[] {
  try {
    const config = JSON.parse(readFileSync(homePaths(home).nodeJson, 'utf8')) as { stores?: unknown };
    return Array.isArray(config.stores)
      ? config.stores.filter((s): s is string => typeof s === 'string')
      : [];
  } catch {
    return [];
  }
}

function execWords(options: ServiceOptions): string[] {
  if (options.exec !== undefined) {
    const exec = resolve(options.exec);
    if (!existsSync(exec)) throw new ArozError('ERR_FILE_NOT_FOUND', `--exec "${exec}" does not exist`);
    return [exec];
  }
  return singleExecutable ? [process.execPath] : [process.execPath, LAUNCHER];
}

/** The system unit (in /etc/systemd/system, with its own user) is root's to install or remove. */
function needsRoot(scope: 'system' | 'user', options: ServiceOptions, command: string): void {
  if (scope !== 'system' || options.unitDir !== undefined || process.getuid?.() === 0) return;
  throw new ArozError(
    'ERR_PERMISSION_DENIED',
    `A system unit is root's to ${command}: run "sudo arozdfs service ${command}", or add --user for a user unit`,
  );
}

function userExists(name: string): boolean {
  try {
    execFileSync('id', ['-u', name], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

async function install(ctx: CliContext, options: ServiceOptions): Promise<void> {
  const scope = options.user === true ? 'user' : 'system';
  const home = serviceHome(ctx, options);
  const stores = (options.store ?? []).map((s) => resolve(s));
  const user = options.runAs ?? (scope === 'system' ? SERVICE_USER : userInfo().username);
  const spec: UnitSpec = {
    scope,
    exec: execWords(options),
    home,
    stores,
    writable: configuredStores(home),
    user,
  };
  const text = renderUnit(spec);
  const path = join(unitDir(options), UNIT_NAME);
  const facts = { scope, unit: path, home, user, exec: spec.exec, text };
  if (options.print === true) {
    ctx.out.result({ ...facts, written: false }, text.trimEnd());
    return;
  }
  needsRoot(scope, options, 'install');
  if (existsSync(path) && options.force !== true && !readFileSync(path, 'utf8').startsWith(MARKER)) {
    throw new ArozError(
      'ERR_OUTPUT_EXISTS',
      `"${path}" exists and was not written by arozdfs; pass --force to replace it`,
    );
  }
  const done: string[] = [];
  if (scope === 'system') {
    if (!userExists(user)) {
      run('useradd', [
        '--system',
        '--user-group',
        '--home-dir',
        home,
        '--no-create-home',
        '--shell',
        '/usr/sbin/nologin',
        user,
      ]);
      done.push(`Made the system user "${user}".`);
    }
    if (!existsSync(home)) {
      mkdirSync(home, { recursive: true, mode: 0o700 });
      const id = Number(execFileSync('id', ['-u', user], { encoding: 'utf8' }));
      const gid = Number(execFileSync('id', ['-g', user], { encoding: 'utf8' }));
      chownSync(home, id, gid);
      done.push(`Made the home ${home} (0700, owned by ${user}).`);
    }
  }
  mkdirSync(unitDir(options), { recursive: true });
  try {
    await writeFileAtomic(path, text, { mode: 0o644, overwrite: true });
  } catch (err) {
    throw fromSystemError(err, `Cannot write the unit "${path}"`);
  }
  done.push(
    `Wrote ${path}: runs "${spec.exec.join(' ')} --home ${home} start" as ${user}, restarts on failure.`,
  );
  const systemctl = scope === 'user' ? 'systemctl --user' : 'systemctl';
  done.push(
    `Start it now and at every boot: ${systemctl} daemon-reload && ${systemctl} enable --now ${UNIT_NAME}`,
    ...(scope === 'user'
      ? [`To keep it running while you are logged out: loginctl enable-linger ${user}`]
      : []),
    `Settings (web UI address, stores, peers): ${homePaths(home).nodeJson} (docs/config.md); logs: journalctl ${scope === 'user' ? '--user ' : ''}-u ${UNIT_NAME}`,
  );
  ctx.out.result({ ...facts, written: true }, done.join('\n'));
}

async function uninstall(ctx: CliContext, options: ServiceOptions): Promise<void> {
  const scope = options.user === true ? 'user' : 'system';
  const path = join(unitDir(options), UNIT_NAME);
  const systemctl = scope === 'user' ? 'systemctl --user' : 'systemctl';
  needsRoot(scope, options, 'uninstall');
  if (!existsSync(path)) {
    ctx.out.result({ scope, unit: path, removed: false }, `No unit at ${path}: nothing to remove.`);
    return;
  }
  if (options.force !== true && !readFileSync(path, 'utf8').startsWith(MARKER)) {
    throw new ArozError(
      'ERR_OUTPUT_EXISTS',
      `"${path}" was not written by arozdfs; pass --force to remove it`,
    );
  }
  if (options.print === true) {
    ctx.out.result({ scope, unit: path, removed: false }, `Would remove ${path}.`);
    return;
  }
  try {
    await rm(path);
  } catch (err) {
    throw fromSystemError(err, `Cannot remove the unit "${path}"`);
  }
  ctx.out.result(
    { scope, unit: path, removed: true },
    [
      `Removed ${path}. The node's home, its stores and the "${SERVICE_USER}" user (system unit) are left as they were.`,
      `If it still runs: ${systemctl} disable --now ${UNIT_NAME} && ${systemctl} daemon-reload`,
    ].join('\n'),
  );
}

function run(command: string, args: string[]): void {
  try {
    execFileSync(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    throw fromSystemError(err, `"${command} ${args.join(' ')}" failed`);
  }
}

export const register: Register = (program, action) => {
  const service = program
    .command('service')
    .description('install or remove a systemd unit that runs this node (docs/install.md)');
  const common = (cmd: ReturnType<typeof program.command>) =>
    cmd
      .option('--user', 'a user unit (~/.config/systemd/user) instead of a system unit')
      .option(
        '--unit-dir <dir>',
        'where the unit file goes (default /etc/systemd/system, or the user folder)',
      )
      .option('--print', 'show what would be done; change nothing')
      .option('--force', 'replace or remove a unit file arozdfs did not write');
  common(service.command('install').description('write the unit (init on first start, then serve)'))
    .option('--run-as <user>', `the system unit's user (default "${SERVICE_USER}", made when missing)`)
    .option('--exec <path>', 'the arozdfs executable the unit runs (default: this one)')
    .option('--store <dir...>', 'an extra store folder: passed to serve and writable (repeatable)')
    .action(action<[], ServiceOptions>((ctx, _args, options) => install(ctx, options)));
  common(service.command('uninstall').description('remove the unit written by service install')).action(
    action<[], ServiceOptions>((ctx, _args, options) => uninstall(ctx, options)),
  );
};
