/**
 * The arozdfs command line: parses arguments, dispatches to src/cli/<command>.ts, and maps every
 * failure to one line and an exit code (0 ok, 2 usage, 130 interrupted, 1 anything else). The only
 * module besides the daemon entry that touches `process`.
 */
import { Command, CommanderError } from 'commander';
import {
  type ActionFactory,
  commandOf,
  commandPath,
  type GlobalOptions,
  makeContext,
  type Register,
} from './cli/context.ts';
import { Output, oneLine } from './cli/output.ts';
import { ArozError, exitCodeOf } from './errors.ts';
import { versionLine } from './runtime.ts';
import { VERSION } from './version.ts';

type CommandModule = () => Promise<{ register: Register }>;

/**
 * The modules that register commands, in the order `--help` lists them, each loaded only when its
 * command runs: a command pays for its own imports and no other's. The paths are string literals so
 * that a bundler can follow them.
 */
export const COMMAND_MODULES = {
  init: () => import('./cli/init.ts'),
  keys: () => import('./cli/keys.ts'),
  peers: () => import('./cli/peers.ts'),
  serve: () => import('./cli/serve.ts'),
  service: () => import('./cli/service.ts'),
  wait: () => import('./cli/wait.ts'),
  cluster: () => import('./cli/cluster.ts'),
  slice: () => import('./cli/slice.ts'),
  merge: () => import('./cli/merge.ts'),
  transfer: () => import('./cli/transfer.ts'),
  files: () => import('./cli/files.ts'),
  check: () => import('./cli/check.ts'),
  repair: () => import('./cli/repair.ts'),
  jobs: () => import('./cli/jobs.ts'),
  demo: () => import('./cli/demo.ts'),
  start: () => import('./cli/start.ts'),
} as const satisfies Record<string, CommandModule>;

/** Each top-level command and the module in COMMAND_MODULES that registers it. */
export const MODULE_OF: Readonly<Record<string, keyof typeof COMMAND_MODULES>> = {
  init: 'init',
  keys: 'keys',
  peers: 'peers',
  serve: 'serve',
  service: 'service',
  wait: 'wait',
  cluster: 'cluster',
  slice: 'slice',
  merge: 'merge',
  upload: 'transfer',
  download: 'transfer',
  ls: 'files',
  rm: 'files',
  index: 'files',
  check: 'check',
  repair: 'repair',
  jobs: 'jobs',
  demo: 'demo',
  start: 'start',
};

/** Program options that take a value (the next word is not the command). */
const VALUE_OPTIONS = new Set(['--home']);

/**
 * The register functions this command line needs: the one module of its command; none for a bare
 * `--version`; every one when there is no known command (help, a typo to suggest a fix for).
 */
async function registersFor(argv: readonly string[]): Promise<Register[]> {
  const name = commandName(argv);
  const known = name === undefined ? undefined : MODULE_OF[name];
  if (known !== undefined) return [(await COMMAND_MODULES[known]()).register];
  if (name === undefined && argv.includes('--version') && !argv.some(isHelpFlag)) return [];
  const modules = await Promise.all(Object.values(COMMAND_MODULES).map((load) => load()));
  return modules.map((m) => m.register);
}

/** The first word of argv that is not a program option or its value: the command's name. */
export function commandName(argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i] as string;
    if (word === '--') return undefined;
    if (VALUE_OPTIONS.has(word)) i++;
    else if (!word.startsWith('-')) return word;
  }
  return undefined;
}

const isHelpFlag = (word: string): boolean => word === '--help' || word === '-h';

/** Signals this close to the first one count as the same request to stop (npm's forwarded copy of a
 * Ctrl-C can come late on a busy machine). */
const REPEATED_SIGNAL_MS = 2_000;

export async function main(argv: string[]): Promise<number> {
  const json = argv.includes('--json');
  const controller = new AbortController();
  let firstSignal: number | undefined;
  const onSignal = (name: string) => {
    const now = performance.now();
    if (firstSignal === undefined) {
      firstSignal = now;
      controller.abort(new ArozError('ERR_INTERRUPTED', `Interrupted by ${name}`));
      return;
    }
    // Under `npm start` one Ctrl-C arrives twice: from the terminal and forwarded by npm. A repeat
    // this soon is the same request; a later one means "leave now".
    if (now - firstSignal >= REPEATED_SIGNAL_MS) process.exit(130);
  };
  const onInt = () => onSignal('SIGINT');
  const onTerm = () => onSignal('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);

  let failure: unknown;
  let output: Output | undefined;
  const action: ActionFactory =
    (handler) =>
    async (...raw) => {
      const cmd = commandOf(raw);
      const ctx = makeContext(cmd.optsWithGlobals<GlobalOptions>(), controller.signal, commandPath(cmd));
      output = ctx.out;
      const args = raw.slice(0, cmd.registeredArguments.length) as Parameters<typeof handler>[1];
      await handler(ctx, args, cmd.opts() as Parameters<typeof handler>[2]);
    };

  const program = new Command('arozdfs')
    .description('A distributed file store for small self-hosted clusters.')
    .version(versionLine(VERSION), '--version', 'print the version')
    .option('--home <dir>', 'node home (else $AROZDFS_HOME, else ~/.arozdfs)')
    .option('--json', 'machine-readable output: JSON lines on stdout')
    .exitOverride()
    .configureOutput({
      // Commander's own error lines are replaced by ours (one line, a code, JSON when asked).
      outputError: () => {},
    });
  for (const register of await registersFor(argv)) register(program, action);
  for (const cmd of allCommands(program)) cmd.exitOverride().configureOutput({ outputError: () => {} });

  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    failure = err;
  } finally {
    // The command is over and the process ends as soon as its output is written. A signal now (npm's
    // late copy of the Ctrl-C that stopped a daemon) must not turn a clean exit into death by signal,
    // so the handlers stay, and ignore it: a signal listener does not keep the process alive.
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
    for (const name of ['SIGINT', 'SIGTERM'] as const) {
      if (!process.listeners(name).includes(ignore)) process.on(name, ignore);
    }
  }
  if (failure === undefined) return 0;
  if (failure instanceof CommanderError) {
    if (failure.code === 'commander.helpDisplayed' || failure.code === 'commander.version') return 0;
    const what =
      failure.code === 'commander.help'
        ? 'A command is needed'
        : oneLine(failure.message.replace(/^error: /, ''));
    failure = new ArozError('ERR_USAGE', `${what} (see "arozdfs --help")`);
  }
  if (controller.signal.aborted && !(failure instanceof ArozError)) failure = controller.signal.reason;
  (output ?? new Output(json)).error(failure);
  return exitCodeOf(failure);
}

function ignore(): void {}

function* allCommands(cmd: Command): Generator<Command> {
  for (const sub of cmd.commands) {
    yield sub;
    yield* allCommands(sub);
  }
}

if (import.meta.main) {
  process.exitCode = await main(process.argv.slice(2));
}
