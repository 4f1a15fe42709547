import { Command } from 'commander';
import { CliError } from '../errors.js';

// Placeholder until the command is built.
export function makeDemoCommand(): Command {
  return new Command('demo').description('(not implemented yet)').action(() => {
    throw new CliError('demo is not implemented yet');
  });
}
