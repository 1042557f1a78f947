// Builds sidekick into one file, dist/sidekick.cjs, with its dependencies:
// what the container image runs, without a node_modules folder.
//   node scripts/bundle.mjs [outfile]
// CommonJS output: several dependencies (ssh2, via dockerode) use require and
// __dirname, which an ES module bundle does not have.

import { readFileSync } from 'node:fs';
import { build } from 'esbuild';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const outfile = process.argv[2] ?? 'dist/sidekick.cjs';

await build({
  entryPoints: ['src/main.ts'],
  outfile,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  minifySyntax: true,
  legalComments: 'none',
  // ES module dependencies (fdir) ask for import.meta.url: this file's URL.
  banner: { js: "const sidekickFileUrl = require('node:url').pathToFileURL(__filename).href;" },
  define: { SIDEKICK_VERSION: JSON.stringify(pkg.version), 'import.meta.url': 'sidekickFileUrl' },
  // ssh2 (dockerode's ssh:// transport, unused) tries native addons and falls back without them.
  external: ['cpu-features', '*.node'],
  logLevel: 'warning',
});
