// What never leaves the host: values of container environment variables in
// inspect records (SIDEKICK_REDACT_ENV), and matches of chosen patterns in
// log and file lines (SIDEKICK_REDACT_PATTERNS).

import picomatch from 'picomatch';

export const REDACTED = '<redacted>';

/** Named patterns for secrets often seen in logs. */
export const REDACT_PRESETS: Readonly<Record<string, string>> = {
  // "Authorization: Bearer <token>", "bearer=<token>"
  bearer: String.raw`(?<=\b[Bb]earer[ =:]+)[A-Za-z0-9\-._~+/]+=*`,
  // 13 to 19 digits, alone or in groups of 4 split by spaces or dashes: card numbers.
  card: String.raw`\b(?:\d[ -]?){12,18}\d\b`,
  // AWS access key ids.
  aws: String.raw`\b(?:AKIA|ASIA)[0-9A-Z]{16}\b`,
  // password=..., "password": "..." (the value only).
  password: String.raw`(?<=\b(?:password|passwd|pwd|secret|token)["']?\s*[=:]\s*["']?)[^\s"'&,;]+`,
};

/** Splits at commas outside (), [] and {}: a regex may hold commas in its groups and counts. */
function splitTopLevel(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '\\') i++;
    else if (c === '(' || c === '[' || c === '{') depth++;
    else if (c === ')' || c === ']' || c === '}') depth = Math.max(0, depth - 1);
    else if (c === ',' && depth === 0) {
      out.push(text.slice(start, i));
      start = i + 1;
    }
  }
  out.push(text.slice(start));
  return out.map((t) => t.trim()).filter((t) => t !== '');
}

/**
 * One regular expression for a list of presets and regexes, or undefined for
 * none. Throws an Error naming a pattern that does not compile.
 */
export function parseRedactPatterns(text: string): RegExp | undefined {
  const sources = splitTopLevel(text).map((p) => {
    const source = REDACT_PRESETS[p] ?? p;
    try {
      new RegExp(source);
    } catch (err) {
      throw new Error(`"${p}": ${(err as Error).message}; or one of ${Object.keys(REDACT_PRESETS).join(', ')}`);
    }
    return source;
  });
  return sources.length === 0 ? undefined : new RegExp(sources.map((s) => `(?:${s})`).join('|'), 'g');
}

export function redactText(text: string, pattern: RegExp | undefined): string {
  return pattern === undefined ? text : text.replace(pattern, REDACTED);
}

/** Which env var names have their values redacted: all, none, or those matching globs. */
export type EnvRedaction = (name: string) => boolean;

export function parseEnvRedaction(text: string): EnvRedaction {
  const t = text.trim();
  if (t === 'all') return () => true;
  if (t === 'none') return () => false;
  const globs = t
    .split(',')
    .map((g) => g.trim())
    .filter((g) => g !== '');
  if (globs.length === 0) throw new Error('all, none, or a comma-separated list of name globs (*PASSWORD*,*TOKEN*)');
  return picomatch(globs, { nocase: true });
}

/** `NAME=value` entries with the chosen values replaced. */
export function redactEnvEntries(env: readonly string[], redact: EnvRedaction): string[] {
  return env.map((entry) => {
    const eq = entry.indexOf('=');
    return eq < 0 || !redact(entry.slice(0, eq)) ? entry : entry.slice(0, eq + 1) + REDACTED;
  });
}
