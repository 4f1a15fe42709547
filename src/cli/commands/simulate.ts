import { Command } from 'commander';
import { CliError } from '../errors.js';

// Placeholder until the command is built.
export function makeSimulateCommand(): Command {
  return new Command('simulate').description('(not implemented yet)').action(() => {
    throw new CliError('simulate is not implemented yet');
  });
}
