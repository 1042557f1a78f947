// The container image: built from the real Dockerfile by the test engine (with
// base images made from this machine's Node, see image-bases.sh), then run the
// way the README says, beside an app whose log volume it reads.

import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { buildImage, docker, NO_NETWORK, removeTestContainers, RUN_LABEL, runContainer, SIDEKICK_IMAGE, sleep, uniqueName, type Json } from './harness.js';

const exec = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const IMAGE = SIDEKICK_IMAGE;
const COMPOSE = ['-p', 'sidekicktest', '-f', `${ROOT}docker-compose.yml`, '-f', `${ROOT}test/e2e/compose.override.yml`];

/** The files of an image, as `docker export` lists them. */
async function filesOf(image: string): Promise<string[]> {
  const id = await docker('create', image);
  try {
    return await new Promise((resolve, reject) => {
      const tar = spawn('sh', ['-c', `docker export ${id} | tar -t`], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      tar.stdout.setEncoding('utf8').on('data', (t: string) => (out += t));
      tar.on('exit', (code) => (code === 0 ? resolve(out.split('\n').filter((l) => l !== '')) : reject(new Error(`docker export | tar -t: ${code}`))));
    });
  } finally {
    await docker('rm', id);
  }
}

/** The records the sidekick container printed on its stdout. */
async function recordsOf(container: string): Promise<Json[]> {
  const out = await docker('logs', container);
  return out
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Json);
}

async function until(what: string, cond: () => Promise<boolean>, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await sleep(250);
  }
}

describe('the container image', () => {
  before(buildImage);

  after(removeTestContainers);

  it('holds the runtime and the bundle: no npm, no sources, no tests; runs as non-root with a health check', async () => {
    const files = await filesOf(IMAGE);
    assert.ok(files.includes('app/sidekick.mjs'));
    const unwanted = files.filter((f) => /(^|\/)(npm|npx|node_modules|src|test|tests)(\/|$)|\.ts$|\.map$/.test(f));
    assert.deepEqual(unwanted, []);
    const [config] = JSON.parse(await docker('image', 'inspect', IMAGE)) as { Config: Record<string, unknown>; Size: number }[];
    const c = config!.Config as { User: string; StopSignal: string; Healthcheck: { Test: string[] }; Labels: Record<string, string>; Entrypoint: string[] };
    assert.equal(c.User, '65532:65532');
    assert.equal(c.StopSignal, 'SIGTERM');
    assert.deepEqual(c.Healthcheck.Test, ['CMD', 'node', '/app/sidekick.mjs', '--healthcheck']);
    assert.equal(c.Labels['org.opencontainers.image.title'], 'sidekick');
    assert.ok(c.Labels['org.opencontainers.image.version']);
    process.stdout.write(`# image size: ${(config!.Size / 1e6).toFixed(0)} MB (base from this machine's Node)\n`);
  });

  it('run as the README says (and with a read-only root) beside an app: its stdout, file lines, events and inspect arrive; healthy; docker stop flushes and exits 0', async () => {
    const app = uniqueName('image-app');
    const sk = uniqueName('image-sidekick');
    await runContainer(
      app,
      ['-v', '/var/log/app'],
      'i=1; while [ $i -le 100 ]; do echo "out $i"; echo "file $i" >> /var/log/app/app.log; i=$((i+1)); done; sleep 120',
    );
    const socketGroup = (await exec('stat', ['-c', '%g', '/var/run/docker.sock'])).stdout.trim();
    await docker(
      'run',
      '-d',
      '--name',
      sk,
      '-l',
      RUN_LABEL,
      '--group-add',
      socketGroup,
      '--read-only',
      '-v',
      '/var/run/docker.sock:/var/run/docker.sock:ro',
      '-v',
      `${sk}-state:/var/lib/sidekick`,
      '--volumes-from',
      `${app}:ro`,
      '-e',
      'SIDEKICK_FILES=/var/log/app/*.log',
      '--health-interval',
      '1s',
      IMAGE,
    );
    const brief = uniqueName('image-brief');
    const ofApp = (records: Json[], type: string): Json[] => records.filter((r) => r.type === type && r.container?.name === app);
    await until('sidekick to collect', async () => (await recordsOf(sk)).some((r) => r.type === 'inspect'), 30_000);
    await runContainer(brief, [], 'echo brief');
    await until(
      'stdout lines, file lines, inspect and events',
      async () => {
        const records = await recordsOf(sk);
        return (
          ofApp(records, 'log').length >= 100 &&
          ofApp(records, 'file').length >= 100 &&
          records.some((r) => r.type === 'event' && r.container?.name === brief && r['action'] === 'die')
        );
      },
      30_000,
    );
    await until('docker to call it healthy', async () => (await docker('inspect', '-f', '{{.State.Health.Status}}', sk)) === 'healthy', 30_000);
    await sleep(1500);
    const records = await recordsOf(sk);
    assert.deepEqual(
      ofApp(records, 'log').map((r) => r['message']),
      Array.from({ length: 100 }, (_, i) => `out ${i + 1}`),
    );
    assert.deepEqual(
      ofApp(records, 'file').map((r) => [r['message'], r['path']]),
      Array.from({ length: 100 }, (_, i) => [`file ${i + 1}`, '/var/log/app/app.log']),
    );
    assert.equal(ofApp(records, 'inspect').length, 1);
    assert.ok(records.some((r) => r.type === 'log' && r.container?.name === brief && r['message'] === 'brief'));
    const own = records.filter((r) => r.container?.name === sk);
    assert.deepEqual(
      own.filter((r) => r.type !== 'event'),
      [],
      'sidekick does not collect its own output',
    );
    assert.deepEqual(
      own.filter((r) => String(r['action']).startsWith('exec_') || String(r['action']).startsWith('health_status')),
      [],
      'nor its health checks',
    );

    const start = Date.now();
    await docker('stop', sk);
    const stoppedIn = Date.now() - start;
    assert.equal(await docker('inspect', '-f', '{{.State.ExitCode}}', sk), '0');
    assert.ok(stoppedIn < 10_000, `stopped in ${stoppedIn} ms`);
    const { stderr } = await exec('docker', ['logs', sk], { maxBuffer: 64 * 1024 * 1024 });
    assert.match(stderr, /"msg":"stopped"/);
    assert.doesNotMatch(stderr, /cannot write checkpoints/, 'a read-only root, and the state in its volume');
    await docker('rm', '-f', sk);
    await docker('volume', 'rm', `${sk}-state`);
  });

  it('starts from docker-compose.yml with `up -d`: the app’s stdout and file lines, /healthz, checkpoints in the state volume', async () => {
    const env = { ...process.env, DOCKER_GID: (await exec('stat', ['-c', '%g', '/var/run/docker.sock'])).stdout.trim() };
    const compose = (...args: string[]): Promise<{ stdout: string }> => exec('docker-compose', [...COMPOSE, ...args], { env, maxBuffer: 64 * 1024 * 1024 });
    await compose('config', '-q');
    try {
      await compose('up', '-d');
      const records = async (): Promise<Json[]> => recordsOf('sidekicktest_sidekick_1');
      const fromApp = (all: Json[], type: string): Json[] => all.filter((r) => r.type === type && r.container?.name === 'sidekicktest_app_1');
      await until(
        'a stdout line and a file line of the app',
        async () => {
          const all = await records();
          return fromApp(all, 'log').length > 0 && fromApp(all, 'file').length > 0;
        },
        30_000,
      );
      const all = await records();
      assert.equal(fromApp(all, 'log')[0]!['message'], 'stdout line 1');
      assert.equal(fromApp(all, 'file')[0]!['message'], 'file line 1');
      assert.equal((await fetch('http://127.0.0.1:9324/healthz')).status, 200);
      // The compose file's own health check (its command, at the override's 1 s pace), as docker runs it.
      await until(
        'docker to call the compose service healthy',
        async () => (await docker('inspect', '-f', '{{.State.Health.Status}}', 'sidekicktest_sidekick_1')) === 'healthy',
        30_000,
      );
      await until(
        'checkpoints in the state volume',
        async () => {
          const ls = await docker('run', '--rm', ...NO_NETWORK, '-v', 'sidekicktest_sidekick-state:/state', 'sidekick-test/busybox:latest', 'ls', '/state');
          return ls.split('\n').includes('checkpoints.json');
        },
        10_000,
      );
    } finally {
      await compose('down', '-v', '--timeout', '10');
    }
  });
});
