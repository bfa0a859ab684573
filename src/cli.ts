/**
 * The arozdfs command line: parses arguments, dispatches to src/cli/<command>.ts, and maps every
 * failure to one line and an exit code (0 ok, 2 usage, 130 interrupted, 1 anything else). The only
 * module besides the daemon entry that touches `process`.
 */
import { Command, CommanderError } from 'commander';
import { register as registerCheck } from './cli/check.ts';
import { register as registerCluster } from './cli/cluster.ts';
import {
  type ActionFactory,
  commandOf,
  commandPath,
  type GlobalOptions,
  makeContext,
} from './cli/context.ts';
import { register as registerDemo } from './cli/demo.ts';
import { register as registerFiles } from './cli/files.ts';
import { register as registerInit } from './cli/init.ts';
import { register as registerJobs } from './cli/jobs.ts';
import { register as registerKeys } from './cli/keys.ts';
import { register as registerMerge } from './cli/merge.ts';
import { Output, oneLine } from './cli/output.ts';
import { register as registerPeers } from './cli/peers.ts';
import { register as registerRepair } from './cli/repair.ts';
import { register as registerServe } from './cli/serve.ts';
import { register as registerService } from './cli/service.ts';
import { register as registerSlice } from './cli/slice.ts';
import { register as registerStart } from './cli/start.ts';
import { register as registerTransfer } from './cli/transfer.ts';
import { register as registerWait } from './cli/wait.ts';
import { ArozError, exitCodeOf } from './errors.ts';
import { versionLine } from './runtime.ts';
import { VERSION } from './version.ts';

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
  for (const register of [
    registerInit,
    registerKeys,
    registerPeers,
    registerServe,
    registerService,
    registerWait,
    registerCluster,
    registerSlice,
    registerMerge,
    registerTransfer,
    registerFiles,
    registerCheck,
    registerRepair,
    registerJobs,
    registerDemo,
    registerStart,
  ]) {
    register(program, action);
  }
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
