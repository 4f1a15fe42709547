import { Command } from 'commander';
import { CliError } from '../errors.js';

// Placeholder until the command is built.
export function makeDumpCommand(): Command {
  return new Command('dump').description('(not implemented yet)').action(() => {
    throw new CliError('dump is not implemented yet');
  });
}
