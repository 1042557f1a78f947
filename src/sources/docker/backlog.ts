// Where to start reading a container that was running before sidekick first
// saw it and has no checkpoint: SIDEKICK_BACKLOG, as the logs API asks for it.

import type { Backlog } from '../../config/parse.js';

/** The logs API's `since` (`seconds.fraction`) and/or `tail` for the backlog setting; neither: the first line. */
export function backlogStart(backlog: Backlog, now = Date.now()): { since?: string; tail?: number } {
  switch (backlog.kind) {
    case 'all':
      return {};
    case 'none':
      return { since: String(now / 1000) };
    case 'tail':
      return { tail: backlog.lines };
    case 'since':
      return { since: String((now - backlog.ms) / 1000) };
  }
}
