import { constants } from 'node:os';
import { CliError } from './errors.js';

/** The signals that stop a command: Ctrl-C, kill, and the terminal going away. */
export const STOP_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/** The status a shell gives a process that `signal` ended: 128 + its number (130 for SIGINT). */
export function signalExitCode(signal: NodeJS.Signals): number {
  return 128 + constants.signals[signal];
}

/** One line for the top-level handler, with the exit status of a process the signal ended. */
export function interruptedError(signal: NodeJS.Signals, what: string): CliError {
  return new CliError(`interrupted; ${what}`, signalExitCode(signal));
}

const immediate = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Catches SIGINT, SIGTERM and SIGHUP from construction until release(). While a listener is
 * installed their default action (ending the process at once) cannot cut a synchronous native call
 * short, such as the one that creates a segment: the signal waits in libuv until the call returns.
 */
export class SignalHold {
  #first: NodeJS.Signals | null = null;
  readonly #listener: (signal: NodeJS.Signals) => void;

  /** `onSignal` runs for every signal caught (e.g. to abort the command's work). */
  constructor(onSignal?: (signal: NodeJS.Signals) => void) {
    this.#listener = (signal) => {
      this.#first ??= signal;
      onSignal?.(signal);
    };
    for (const s of STOP_SIGNALS) process.on(s, this.#listener);
  }

  /**
   * The first signal caught so far, counting any raised during a synchronous call that just returned.
   * libuv emits those from its poll phase; two immediates always have a poll phase between them
   * (one may run in the check phase that directly follows the poll phase we are in).
   */
  async delivered(): Promise<NodeJS.Signals | null> {
    await immediate();
    await immediate();
    return this.#first;
  }

  /** The first signal caught so far, without waiting for one still queued in libuv. */
  get caught(): NodeJS.Signals | null {
    return this.#first;
  }

  release(): void {
    for (const s of STOP_SIGNALS) process.off(s, this.#listener);
  }
}

/**
 * Runs `create`, one synchronous call that may make the segment `name`, while `hold` catches the stop
 * signals. If one arrived meanwhile, `undo` removes what was made and this throws the one-line
 * interruption (exit status 128 + the signal's number). `undo` returns false when `create` made
 * nothing (it opened an existing segment): the signal is then left to the command's own handling.
 * A failed create needs no undo: the core removes a name it could not finish creating. A caught
 * signal usually fails nothing: on tmpfs it interrupts neither posix_fallocate nor MAP_POPULATE
 * (measured on Linux 6.18), so a large create runs to its end before it is undone here.
 */
export async function createUninterrupted<T>(hold: SignalHold, name: string, create: () => T, undo: (made: T) => boolean): Promise<T> {
  let made: T;
  try {
    made = create();
  } catch (e) {
    const signal = await hold.delivered();
    throw signal ? interruptedError(signal, `${name} was not created`) : e;
  }
  const signal = await hold.delivered();
  if (!signal) return made;
  let undone: boolean;
  try {
    undone = undo(made);
  } catch (e) {
    throw interruptedError(signal, `${name} was created but could not be removed (${(e as Error).message})`);
  }
  if (undone) throw interruptedError(signal, `${name} was not created`);
  return made;
}
