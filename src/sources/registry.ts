// Every source sidekick has, in the order they start (and stop in reverse).
// One literal list, no import side effects: adding a source means adding a
// line here.

import { dockerSource } from './docker/source.js';
import { filesSource } from './files/source.js';
import type { SourceFactory } from './source.js';

export const SOURCES: readonly SourceFactory[] = [dockerSource, filesSource];
