import { Command } from 'commander';
import { CliError } from '../errors.js';

// Placeholder until the command is built.
export function makeCheckCommand(): Command {
  return new Command('check').description('(not implemented yet)').action(() => {
    throw new CliError('check is not implemented yet');
  });
}
