// Builds sidekick with its dependencies into one folder, dist/app: what the
// container image runs, without a node_modules folder.
//   node scripts/bundle.mjs [outdir]
// sidekick.mjs is the entry; what only some runs need is split into files of
// its own, loaded when first imported: undici (HTTP and OTLP sinks), the OTLP
// encoders, and the collector itself (not loaded for --help, --version or
// --healthcheck). Node keeps the source of every file it loads in the heap
// (for compiling functions lazily): one file held all of undici's 0.7 MB at
// rest (bench/RESULTS.md).
// ES modules, for that splitting; the dependencies written as CommonJS
// (pino) get `require`, `__filename` and `__dirname` from a banner.
// THIRD-PARTY-NOTICES.txt beside the entry carries the name, version and
// license text of every package whose code is in the bundle: the comments
// that would carry them are left out, and their licenses ask that copies
// keep them.

import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const outdir = process.argv[2] ?? 'dist/app';

// Emptied first: the split files' names change with their contents.
rmSync(outdir, { recursive: true, force: true });

const { metafile } = await build({
  entryPoints: { sidekick: 'src/main.ts' },
  outdir,
  outExtension: { '.js': '.mjs' },
  chunkNames: '[name]-[hash]',
  splitting: true,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  minifySyntax: true,
  // Node keeps a file's source in the heap (for lazy compiling): without
  // comments and indentation it is 30% smaller. Names stay, for stack traces.
  minifyWhitespace: true,
  legalComments: 'none',
  banner: {
    js: "import { createRequire as sidekickRequire } from 'node:module'; import { fileURLToPath as sidekickPath } from 'node:url'; const require = sidekickRequire(import.meta.url); const __filename = sidekickPath(import.meta.url); const __dirname = sidekickPath(new URL('.', import.meta.url));",
  },
  define: { SIDEKICK_VERSION: JSON.stringify(pkg.version) },
  logLevel: 'warning',
  metafile: true,
});

/** The folder of the package an input file of the bundle belongs to (scoped and nested ones too), or undefined for sidekick's own. */
function packageFolder(input) {
  const m = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(input);
  return m?.[1];
}

const folders = new Set();
for (const output of Object.values(metafile.outputs)) {
  for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
    const folder = packageFolder(input);
    if (folder !== undefined && bytesInOutput > 0) folders.add(folder);
  }
}
const notices = [...folders].sort().map((folder) => {
  const { name, version, license } = JSON.parse(readFileSync(join(folder, 'package.json'), 'utf8'));
  const file = readdirSync(folder).find((f) => /^(licen[cs]e|copying)([.-]|$)/i.test(f));
  if (file === undefined) throw new Error(`${name}@${version}: no license file in ${folder}, and its code is in the bundle`);
  return `${name}@${version} (${license})\n\n${readFileSync(join(folder, file), 'utf8').trim()}\n`;
});
writeFileSync(
  join(outdir, 'THIRD-PARTY-NOTICES.txt'),
  `sidekick's bundle holds code of these packages, each under its own license.\n\n${notices.join(`\n${'-'.repeat(78)}\n\n`)}`,
);
