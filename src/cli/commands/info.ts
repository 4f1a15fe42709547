import { Command } from 'commander';
import { CliError } from '../errors.js';

// Placeholder until the command is built.
export function makeInfoCommand(): Command {
  return new Command('info').description('(not implemented yet)').action(() => {
    throw new CliError('info is not implemented yet');
  });
}
