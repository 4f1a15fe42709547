import { Command } from 'commander';
import { CliError } from '../errors.js';

// Placeholder until the command is built.
export function makeCreateCommand(): Command {
  return new Command('create').description('(not implemented yet)').action(() => {
    throw new CliError('create is not implemented yet');
  });
}
