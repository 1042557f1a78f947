// The npm package, as the systemd unit runs it: packed by `npm pack` (whose
// prepack script builds and bundles), installed with `npm install --global`
// offline (its dependencies are in the bundle: nothing comes from a
// registry), and run as the `sidekick` command with the unit's environment.
// It runs the bundle the image runs, not dist/src with a node_modules folder.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { removeTestContainers, runContainer, Sidekick, uniqueName } from './harness.js';

const exec = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** `Environment=` settings of the systemd unit, as the service gets them. */
function unitEnvironment(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [, quoted, plain] of readFileSync(join(ROOT, 'deploy/systemd/sidekick.service'), 'utf8').matchAll(/^Environment=(?:"([^"]*)"|(\S+))$/gm)) {
    const setting = quoted ?? plain!;
    const eq = setting.indexOf('=');
    env[setting.slice(0, eq)] = setting.slice(eq + 1);
  }
  return env;
}

describe('the npm package', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sidekick-package-'));
  const prefix = join(dir, 'prefix');
  const installed = join(prefix, 'lib/node_modules/sidekick');
  const bin = join(prefix, 'bin/sidekick');
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  let packed: string[] = [];

  before(async () => {
    // A copy of what a clean checkout gives `npm pack`, so its prepack build
    // does not write over the dist/ these tests run from.
    const stage = join(dir, 'stage');
    for (const entry of ['package.json', 'package-lock.json', 'tsconfig.json', 'README.md', 'LICENSE', 'scripts', 'src']) {
      cpSync(join(ROOT, entry), join(stage, entry), { recursive: true });
    }
    symlinkSync(join(ROOT, 'node_modules'), join(stage, 'node_modules'));
    const { stdout } = await exec('npm', ['pack', '--json', '--pack-destination', dir], { cwd: stage, maxBuffer: 16 * 1024 * 1024 });
    const [result] = JSON.parse(stdout) as { filename: string; files: { path: string }[] }[];
    packed = result!.files.map((f) => f.path).sort();
    await exec('npm', ['install', '--global', '--prefix', prefix, '--offline', '--no-audit', '--no-fund', join(dir, result!.filename)]);
  });

  after(async () => {
    await removeTestContainers();
    rmSync(dir, { recursive: true, force: true });
  });

  it('holds the bundle, its license notices and nothing of the sources', () => {
    assert.ok(packed.includes('dist/app/sidekick.mjs'), packed.join(', '));
    const other = packed.filter((p) => !p.startsWith('dist/app/'));
    assert.deepEqual(other, ['LICENSE', 'README.md', 'package.json']);
    const notices = readFileSync(join(installed, 'dist/app/THIRD-PARTY-NOTICES.txt'), 'utf8');
    for (const name of ['pino@', 'undici@', 'prom-client@', 'p-queue@']) assert.match(notices, new RegExp(`^${name}\\S+ \\(\\S+\\)$`, 'm'), name);
  });

  it('installs offline with no dependency, and `sidekick` is the bundle', async () => {
    assert.deepEqual(readdirSync(installed).sort(), ['LICENSE', 'README.md', 'dist', 'package.json']);
    assert.equal(realpathSync(bin), join(realpathSync(installed), 'dist/app/sidekick.mjs'));
    // Run as a command (its #! line finds node on the PATH), as ExecStart runs it.
    const { stdout } = await exec(bin, ['--version'], { env: { PATH: `${dirname(process.execPath)}:/usr/bin:/bin` } });
    assert.equal(stdout.trim(), pkg.version);
  });

  it('collects with the systemd unit’s settings', async () => {
    const env = unitEnvironment();
    assert.match(env['NODE_OPTIONS'] ?? '', /--max-old-space-size=/, 'the unit’s heap limit was read');
    const app = uniqueName('packaged');
    const sk = new Sidekick({ ...env, SIDEKICK_STATE_DIR: join(dir, 'state'), SIDEKICK_INCLUDE: `name:${app}`, SIDEKICK_TYPES: 'log' }, [], {
      uid: 0,
      gid: 0,
      script: bin,
    });
    try {
      await sk.until(() => sk.stderr.includes('sidekick is collecting'), 20_000, 'collecting');
      await runContainer(app, [], 'echo packaged-hello');
      await sk.until(() => sk.records.some((r) => r['message'] === 'packaged-hello'), 20_000, 'the line on stdout');
      assert.doesNotMatch(sk.stderr, /"level":50/, 'no error logged');
    } finally {
      await sk.stop();
    }
  });
});
