// sidekick's version: --version, and the instrumentation scope of what the
// OTLP sink sends.

import { readFileSync } from 'node:fs';

/** Set by the single-file bundle (scripts/bundle.mjs), which has no package.json beside it. */
declare const SIDEKICK_VERSION: string | undefined;

let known: string | undefined;

export function version(): string {
  if (known !== undefined) return known;
  if (typeof SIDEKICK_VERSION === 'string') known = SIDEKICK_VERSION;
  else {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
    known = pkg.version;
  }
  return known;
}
