import { Command } from 'commander';
import { CliError } from '../errors.js';

// Placeholder until the command is built.
export function makeListCommand(): Command {
  return new Command('list').description('(not implemented yet)').action(() => {
    throw new CliError('list is not implemented yet');
  });
}
