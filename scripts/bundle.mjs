// Builds sidekick into one file, dist/sidekick.cjs, with its dependencies:
// what the container image runs, without a node_modules folder.
//   node scripts/bundle.mjs [outfile]
// CommonJS output: several dependencies (ssh2, via dockerode) use require and
// __dirname, which an ES module bundle does not have.

import { readFileSync } from 'node:fs';
import { build } from 'esbuild';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const outfile = process.argv[2] ?? 'dist/sidekick.cjs';

/** Replaces modules (by the path they resolve to, without .js) with a function that says it is not there. */
function leaveOut(modules) {
  return {
    name: 'leave-out',
    setup(b) {
      b.onResolve({ filter: /^\.\/(ssh|session)(\.js)?$/ }, (args) => {
        const name = args.path.slice(2).replace(/\.js$/, '');
        const key = Object.keys(modules).find((m) => `${args.resolveDir}/${name}`.endsWith(`node_modules/${m}`));
        return key === undefined ? undefined : { path: key, namespace: 'left-out' };
      });
      b.onLoad({ filter: /.*/, namespace: 'left-out' }, (args) => ({
        contents: `module.exports = () => { throw new Error(${JSON.stringify(`${modules[args.path]}: not available in sidekick`)}); };`,
        loader: 'js',
      }));
    },
  };
}

await build({
  entryPoints: ['src/main.ts'],
  outfile,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  minifySyntax: true,
  // Node keeps the file's source in the heap (for lazy compiling): without
  // comments and indentation it is 1.6 MB, not 2.2. Names stay, for stack traces.
  minifyWhitespace: true,
  legalComments: 'none',
  // ES module dependencies (fdir) ask for import.meta.url: this file's URL.
  banner: { js: "const sidekickFileUrl = require('node:url').pathToFileURL(__filename).href;" },
  define: { SIDEKICK_VERSION: JSON.stringify(pkg.version), 'import.meta.url': 'sidekickFileUrl' },
  // dockerode's ssh:// transport and BuildKit sessions (ssh2, gRPC), which sidekick never
  // uses, are left out: src/docker/lean.ts does the same when running from node_modules.
  plugins: [leaveOut({ 'docker-modem/lib/ssh': 'ssh:// DOCKER_HOST', 'dockerode/lib/session': 'BuildKit sessions' })],
  external: ['cpu-features', '*.node'],
  logLevel: 'warning',
});
