// The bench scripts' command lines: node:util parseArgs, strict, and one way to refuse.
import { parseArgs } from 'node:util';

/** Exit 2 with what is wrong (one line, when known) and the usage: nothing has started yet. */
export function usageExit(prog, usage, why) {
  process.stderr.write(`${why ? `${prog}: ${why}\n` : ''}${usage}\n`);
  process.exit(2);
}

/** parseArgs, strict: an unknown option, a missing value or a stray argument ends in usageExit. */
export function parseArgsOrExit(prog, usage, config) {
  try {
    return parseArgs({ ...config, strict: true });
  } catch (e) {
    return usageExit(prog, usage, e.message.split('\n')[0]);
  }
}
