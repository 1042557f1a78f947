// sidekick in its own container must know that container, whatever namespaces
// it shares: taking another container's id for its own loses that container's
// logs, and collecting itself loops (each line it prints comes back as a
// record it prints again). The real image, run beside an app in each mode.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { buildImage, docker, removeTestContainers, RUN_LABEL, runContainer, sleep, uniqueName, type Json } from './harness.js';

const exec = promisify(execFile);

/** How long sidekick runs after the app's records arrived: its own would be there by now (the loop made 201 in 8 s). */
const QUIET_MS = 4_000;

/** The records the sidekick container printed on its stdout, and its own log lines. */
async function outputOf(container: string): Promise<{ records: Json[]; logs: Record<string, unknown>[] }> {
  const { stdout, stderr } = await exec('docker', ['logs', container], { maxBuffer: 256 * 1024 * 1024 });
  // A feedback loop nests records in records until Docker cuts the lines: those do not parse.
  const json = (text: string): Record<string, unknown>[] =>
    text.split('\n').flatMap((l) => {
      if (!l.startsWith('{')) return [];
      try {
        return [JSON.parse(l) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
  return { records: json(stdout) as Json[], logs: json(stderr) };
}

async function until(what: string, cond: () => Promise<boolean>, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await sleep(250);
  }
}

const MODES: readonly (readonly [string, (app: string) => string[]])[] = [
  ['the default namespaces', () => []],
  ['--network container:<app>', (app) => ['--network', `container:${app}`]],
  // The cgroup v2 shape (cgroup v2 makes a private cgroup namespace the
  // default): no id in /proc/self/cgroup, and /etc/hostname is the app's.
  ['--network container:<app> --cgroupns private', (app) => ['--network', `container:${app}`, '--cgroupns', 'private']],
  ['--pid host', () => ['--pid', 'host']],
  ['--uts host', () => ['--uts', 'host']],
  ['--hostname something', () => ['--hostname', 'something']],
];

// The modes run at once: each pair (app, sidekick) has its own label, and its
// sidekick collects only that label, so the sidekicks do not collect each other.
describe('sidekick in a container knows its own', { concurrency: true }, () => {
  let image = '';
  let socketGroup = '';

  before(async () => {
    image = await buildImage();
    socketGroup = (await exec('stat', ['-c', '%g', '/var/run/docker.sock'])).stdout.trim();
  });

  after(removeTestContainers);

  for (const [mode, args] of MODES) {
    it(`${mode}: the app's lines arrive, records about sidekick's own container never`, async () => {
      const pair = `sidekick.self-test=${uniqueName('pair')}`;
      const app = uniqueName('self-app');
      const sk = uniqueName('self-sidekick');
      await runContainer(app, ['-l', pair], 'i=1; while true; do echo "app $i"; i=$((i+1)); sleep 0.1; done');
      const skId = await docker(
        'run',
        '-d',
        '--name',
        sk,
        '-l',
        RUN_LABEL,
        '-l',
        pair,
        '--group-add',
        socketGroup,
        '-v',
        '/var/run/docker.sock:/var/run/docker.sock:ro',
        '-e',
        `SIDEKICK_INCLUDE=label:${pair}`,
        '-e',
        'SIDEKICK_STATS_INTERVAL=1s',
        ...args(app),
        image,
      );
      const ofApp = (records: Json[], type: string): Json[] => records.filter((r) => r.type === type && r.container?.name === app);
      try {
        await until(
          "the app's log lines, its inspect and its stats",
          async () => {
            const { records } = await outputOf(sk);
            return ofApp(records, 'log').length >= 20 && ofApp(records, 'inspect').length >= 1 && ofApp(records, 'stats').length >= 2;
          },
          25_000,
        );
        await sleep(QUIET_MS);
        const { records, logs } = await outputOf(sk);
        const own = records.filter((r) => r.container?.id === skId && r.type !== 'event');
        assert.deepEqual(
          own.slice(0, 3).map((r) => ({ type: r.type, message: r['message'] })),
          [],
          `${own.length} records about sidekick's own container`,
        );
        assert.ok(
          ofApp(records, 'log').some((r) => r['message'] === 'app 1'),
          "the app's first line",
        );
        const collecting = logs.find((l) => l['msg'] === 'sidekick is collecting');
        assert.equal(collecting?.['selfId'], skId, 'the start log names its own container');
      } catch (err) {
        const { records, logs } = await outputOf(sk).catch(() => ({ records: [] as Json[], logs: [] }));
        const own = records.filter((r) => r.container?.id === skId && r.type !== 'event').length;
        process.stdout.write(`# ${mode}: ${own} records about sidekick's own container, ${ofApp(records, 'log').length} of the app's lines\n`);
        process.stdout.write(`# ${mode}: sidekick's own log: ${logs.map((l) => JSON.stringify(l)).join('\n# ')}\n`);
        throw err;
      } finally {
        await docker('rm', '-f', sk, app);
      }
    });
  }
});
