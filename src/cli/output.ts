import { Chalk, type ChalkInstance } from 'chalk';

/**
 * Colour is decided once, here: NO_COLOR (any non-empty value) wins, then FORCE_COLOR
 * (0/false turn it off), then whether the stream is a TTY. chalk itself does not read NO_COLOR.
 */
export function colorLevel(stream: NodeJS.WriteStream, env: NodeJS.ProcessEnv = process.env): 0 | 1 | 2 | 3 {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return 0;
  const force = env.FORCE_COLOR;
  if (force !== undefined) {
    if (force === '0' || force === 'false') return 0;
    if (force === '2') return 2;
    if (force === '3') return 3;
    return 1;
  }
  return stream.isTTY ? (stream.hasColors?.(256) ? 2 : 1) : 0;
}

let out: ChalkInstance | undefined;
let err: ChalkInstance | undefined;

/** chalk for stdout: only for human output; machine formats are never coloured. */
export function stdoutColor(): ChalkInstance {
  return (out ??= new Chalk({ level: colorLevel(process.stdout) }));
}

/** chalk for stderr (errors, warnings, progress). */
export function stderrColor(): ChalkInstance {
  return (err ??= new Chalk({ level: colorLevel(process.stderr) }));
}

/** A warning or progress line on stderr. */
export function warn(message: string): void {
  process.stderr.write(`${stderrColor().yellow('shmswarm:')} ${message}\n`);
}

export function progress(message: string): void {
  process.stderr.write(`${message}\n`);
}
