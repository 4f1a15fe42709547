import { Command, CommanderError } from 'commander';
import { describeError, EXIT_RUNTIME, EXIT_USAGE, OutputError, writeErrorMessage } from './errors.js';
import { outputFailureKind, prepareColor, stderrLine } from './output.js';

type CommandFactory = () => Command;

// Start-up cost matters in shell loops and CI: only the command being run is loaded. The order
// here is the order of `shmswarm --help`.
const COMMANDS: Record<string, () => Promise<CommandFactory>> = {
  create: async () => (await import('./commands/create.js')).makeCreateCommand,
  simulate: async () => (await import('./commands/simulate.js')).makeSimulateCommand,
  watch: async () => (await import('./commands/watch.js')).makeWatchCommand,
  dump: async () => (await import('./commands/dump.js')).makeDumpCommand,
  info: async () => (await import('./commands/info.js')).makeInfoCommand,
  list: async () => (await import('./commands/list.js')).makeListCommand,
  unlink: async () => (await import('./commands/unlink.js')).makeUnlinkCommand,
  wait: async () => (await import('./commands/wait.js')).makeWaitCommand,
  check: async () => (await import('./commands/check.js')).makeCheckCommand,
  serve: async () => (await import('./commands/serve.js')).makeServeCommand,
  record: async () => (await import('./commands/record.js')).makeRecordCommand,
  replay: async () => (await import('./commands/replay.js')).makeReplayCommand,
  demo: async () => (await import('./commands/demo.js')).makeDemoCommand,
  publish: async () => (await import('./commands/publish.js')).makePublishCommand,
  subscribe: async () => (await import('./commands/subscribe.js')).makeSubscribeCommand,
};
const ALIASES: Record<string, string> = { ls: 'list', rm: 'unlink' };

export const VERSION = '0.1.0';

/** The subcommand argv names (aliases resolved), if it names one. */
function commandIn(argv: string[]): string | undefined {
  const word = argv[2] ?? '';
  return Object.hasOwn(COMMANDS, word) ? word : ALIASES[word];
}

/**
 * The program with the subcommand named in argv (or all of them, for help and unknown words);
 * exitOverride so main() decides exit codes.
 */
export async function makeProgram(argv: string[] = process.argv): Promise<Command> {
  const program = new Command('shmswarm')
    .description('Inspect and bridge live matrices in POSIX shared memory')
    .version(VERSION, '-V, --version')
    .option('--debug', 'show stack traces for errors')
    // Usage errors stay one line: the hint rides on it instead of a second line.
    .configureOutput({
      outputError: (str) => stderrLine(`${str.replace(/^error: /, '').trim().replace(/\n\(Did you mean/, ' (Did you mean')} (see --help)`),
    })
    .exitOverride();
  const only = commandIn(argv);
  const names = only ? [only] : Object.keys(COMMANDS);
  const factories = await Promise.all(names.map((n) => COMMANDS[n]()));
  for (const make of factories) {
    const command = make();
    command.copyInheritedSettings(program);
    program.addCommand(command);
  }
  return program;
}

/** Parse, run, and turn any error into one stderr line and an exit code. Never calls process.exit. */
export async function main(argv: string[] = process.argv): Promise<void> {
  // A reader that goes away (`| head`, a closed terminal) ends the output, not in a trace:
  // long-running commands stop as on SIGTERM (and clean up), the others just end.
  // (process.exit after a terminal hang-up (EIO) trips an assertion in Node's tty reset: only a
  // broken pipe exits here.)
  // Any other failure (a full disk, /dev/full) lost data: one line, exit 1, the same stop. Only
  // the first failure counts: later writes fail too, and a failing stderr cannot be told about.
  let outputGone = false;
  let lostOutput: unknown;
  const onOutputError = (stream: 'stdout' | 'stderr') => (e: NodeJS.ErrnoException) => {
    if (outputGone) return;
    outputGone = true;
    const kind = outputFailureKind(e);
    if (kind === 'lost') {
      lostOutput = e;
      process.exitCode = EXIT_RUNTIME;
      if (stream === 'stdout') {
        stderrLine(writeErrorMessage('to stdout', e));
        if (argv.includes('--debug') && e.stack) process.stderr.write(`${e.stack}\n`);
      }
    }
    if (process.listenerCount('SIGTERM') > 0) process.emit('SIGTERM');
    else if (kind === 'reader-gone') process.exit(process.exitCode ?? 0);
  };
  process.stdout.on('error', onOutputError('stdout'));
  process.stderr.on('error', onOutputError('stderr'));
  // Node decodes argv as UTF-8 and turns bytes that are not UTF-8 into U+FFFD: acting on such an
  // argument would act on another name than the one typed (unlink would remove it).
  const garbled = argv.slice(2).findIndex((a) => a.includes('\ufffd'));
  if (garbled >= 0) {
    stderrLine(`argument ${garbled + 1} ("${argv[garbled + 2]}") is not valid UTF-8 (shown with U+FFFD where its bytes were not text); shmswarm takes names and values as UTF-8 text`);
    process.exitCode = EXIT_USAGE;
    return;
  }
  let program: Command;
  try {
    [program] = await Promise.all([makeProgram(argv), prepareColor()]);
  } catch (e) {
    process.stderr.write(`shmswarm: cannot load the CLI (${(e as Error).message}); run npm ci to rebuild it\n`);
    process.exitCode = 1;
    return;
  }
  try {
    await program.parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      // commander has printed its message already; help and version exit 0 (unless printing them failed).
      process.exitCode = e.exitCode === 0 ? (process.exitCode ?? 0) : EXIT_USAGE;
      return;
    }
    // A command that stops on the stdout failure reported above: said once is enough.
    if (e instanceof OutputError && lostOutput !== undefined && e.cause === lostOutput) return;
    const { message, exitCode } = describeError(e, commandIn(argv));
    stderrLine(message);
    if (argv.includes('--debug') && e instanceof Error && e.stack) process.stderr.write(`${e.stack}\n`);
    process.exitCode = exitCode;
  }
}
