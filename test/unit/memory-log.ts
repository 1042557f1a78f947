// sidekick's own log, written to memory: what a test reads back of what was said.

import { pino, type Logger } from 'pino';

/** One line of the log, as pino wrote it (its level as a name). */
export interface SaidLine {
  readonly level: string;
  readonly msg: string;
  readonly [field: string]: unknown;
}

/** A logger at `debug` whose lines are kept in `lines`, in order, as soon as each is said. */
export function memoryLog(): { log: Logger; lines: SaidLine[] } {
  const lines: SaidLine[] = [];
  const log = pino(
    { level: 'debug', formatters: { level: (label) => ({ level: label }) } },
    { write: (line: string) => lines.push(JSON.parse(line) as SaidLine) },
  );
  return { log, lines };
}
