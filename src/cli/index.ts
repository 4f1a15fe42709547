import { Command, CommanderError } from 'commander';
import { describeError, EXIT_USAGE } from './errors.js';
import { stderrColor } from './output.js';
import { makeCheckCommand } from './commands/check.js';
import { makeCreateCommand } from './commands/create.js';
import { makeDemoCommand } from './commands/demo.js';
import { makeDumpCommand } from './commands/dump.js';
import { makeInfoCommand } from './commands/info.js';
import { makeListCommand } from './commands/list.js';
import { makeSimulateCommand } from './commands/simulate.js';
import { makeUnlinkCommand } from './commands/unlink.js';
import { makeWaitCommand } from './commands/wait.js';
import { makeWatchCommand } from './commands/watch.js';

export const VERSION = '0.1.0';

/** The program with every subcommand; exitOverride so main() decides exit codes. */
export function makeProgram(): Command {
  const program = new Command('shmswarm')
    .description('Inspect and bridge live matrices in POSIX shared memory')
    .version(VERSION, '-V, --version')
    .option('--debug', 'show stack traces for errors')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({
      outputError: (str, write) => write(`${stderrColor().red('shmswarm:')} ${str.replace(/^error: /, '')}`),
    })
    .exitOverride();
  for (const make of [
    makeCreateCommand, makeSimulateCommand, makeWatchCommand, makeDumpCommand, makeInfoCommand,
    makeListCommand, makeUnlinkCommand, makeWaitCommand, makeCheckCommand, makeDemoCommand,
  ]) {
    const command = make();
    command.copyInheritedSettings(program);
    program.addCommand(command);
  }
  return program;
}

/** Parse, run, and turn any error into one stderr line and an exit code. Never calls process.exit. */
export async function main(argv: string[] = process.argv): Promise<void> {
  // A reader that goes away (`| head`) is the end of the output, not an error worth a trace.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
  const program = makeProgram();
  try {
    await program.parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      // commander has printed its message already; help and version exit 0.
      process.exitCode = e.exitCode === 0 ? 0 : EXIT_USAGE;
      return;
    }
    const { message, exitCode } = describeError(e);
    process.stderr.write(`${stderrColor().red('shmswarm:')} ${message}\n`);
    if (argv.includes('--debug') && e instanceof Error && e.stack) process.stderr.write(`${e.stack}\n`);
    process.exitCode = exitCode;
  }
}
