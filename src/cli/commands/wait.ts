import { Command } from 'commander';
import { CliError } from '../errors.js';

// Placeholder until the command is built.
export function makeWaitCommand(): Command {
  return new Command('wait').description('(not implemented yet)').action(() => {
    throw new CliError('wait is not implemented yet');
  });
}
