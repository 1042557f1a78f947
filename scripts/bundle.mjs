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

import { readFileSync, rmSync } from 'node:fs';
import { build } from 'esbuild';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const outdir = process.argv[2] ?? 'dist/app';

// Emptied first: the split files' names change with their contents.
rmSync(outdir, { recursive: true, force: true });

await build({
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
});
