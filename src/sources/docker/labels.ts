// What a container asks of sidekick through its own labels, read once per run.

import type { Logger } from 'pino';
import type { ContainerMeta } from '../../core/record.js';
import { startPattern } from '../multiline.js';

/** A container's own multiline setting: a preset name or a regular expression. */
export const MULTILINE_LABEL = 'sidekick.multiline.pattern';

/**
 * The container's multiline start pattern: its label wins over the global
 * setting (`fallback`); a bad label is reported and ignored (lines not joined).
 */
export function multilineOf(meta: ContainerMeta, fallback: RegExp | undefined, log: Logger): RegExp | undefined {
  const label = meta.labels[MULTILINE_LABEL];
  if (label === undefined) return fallback;
  try {
    return startPattern(label);
  } catch (err) {
    log.warn({ container: meta.name, label, err: (err as Error).message }, `bad ${MULTILINE_LABEL} label; lines are not joined`);
    return undefined;
  }
}
