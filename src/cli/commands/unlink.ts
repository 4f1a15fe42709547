import { Command } from 'commander';
import { CliError } from '../errors.js';

// Placeholder until the command is built.
export function makeUnlinkCommand(): Command {
  return new Command('unlink').description('(not implemented yet)').action(() => {
    throw new CliError('unlink is not implemented yet');
  });
}
