import { Command } from 'commander';
import { CliError } from '../errors.js';

// Placeholder until the command is built.
export function makeWatchCommand(): Command {
  return new Command('watch').description('(not implemented yet)').action(() => {
    throw new CliError('watch is not implemented yet');
  });
}
