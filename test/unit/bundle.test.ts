// The bundle the container image runs (scripts/bundle.mjs): what sidekick
// loads at rest, and what only the sinks that need it load.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const exec = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

describe('the bundle', () => {
  let dir: string;
  const files = new Map<string, string>();

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sidekick-bundle-'));
    await exec(process.execPath, [join(ROOT, 'scripts/bundle.mjs'), dir], { cwd: ROOT });
    for (const f of readdirSync(dir)) files.set(f, readFileSync(join(dir, f), 'utf8'));
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  /** The files a file imports as it loads (`import … from`), not those it may import later (`import(…)`). */
  function loadedWith(entry: string): Set<string> {
    const loaded = new Set<string>();
    const visit = (f: string): void => {
      if (loaded.has(f)) return;
      loaded.add(f);
      for (const m of files.get(f)!.matchAll(/(?:from|import)\s*"\.\/([^"]+\.mjs)"/g)) visit(m[1]!);
    };
    visit(entry);
    return loaded;
  }

  it('leaves undici and the OTLP encoders out of what sidekick loads to collect: their files are imported only by the sinks that use them', () => {
    const run = [...files.keys()].find((f) => files.get(f)!.includes('sidekick is collecting'));
    assert.ok(run !== undefined, 'the collector is in the bundle');
    const atRest = new Set([...loadedWith('sidekick.mjs'), ...loadedWith(run)]);
    const undici = [...files.keys()].filter((f) => files.get(f)!.includes('require_undici'));
    assert.equal(undici.length, 1, 'undici in one file');
    assert.ok(!atRest.has(undici[0]!), `${undici[0]} is not loaded at rest (${[...atRest].join(', ')})`);
    assert.ok(
      [...atRest].every((f) => !files.get(f)!.includes('encodeLogs') || files.get(f)!.includes('import("./logs-')),
      'the OTLP encoders are not loaded at rest',
    );
    const total = [...files.values()].reduce((n, text) => n + text.length, 0);
    const rest = [...atRest].reduce((n, f) => n + files.get(f)!.length, 0);
    process.stdout.write(`# bundle: ${(total / 1e6).toFixed(2)} MB in ${files.size} files, ${(rest / 1e6).toFixed(2)} MB loaded at rest\n`);
  });
});
