// The Swarm stack file, deployed for real: `docker stack deploy` on a one-node
// swarm of the test engine, with the image built from the repo's Dockerfile.
// `docker-compose config` once passed a stack that Swarm refused (its schema
// is not Swarm's), so only a deploy tells whether the file works.
//
// SIDEKICK_TEST_STACK deploys another stack file instead (an older one, to see
// this test fail on it).

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { buildImage, docker, IMAGE, NO_NETWORK, removeTestContainers, RUN_LABEL, runContainer, sleep, uniqueName, type Json } from './harness.js';

const exec = promisify(execFile);
const STACK_FILE = process.env['SIDEKICK_TEST_STACK'] ?? fileURLToPath(new URL('../../../deploy/swarm/sidekick-stack.yml', import.meta.url));
const STACK = `sktest${process.pid}`;
const SERVICE = `${STACK}_sidekick`;
const VOLUME = `${STACK}_sidekick-state`;

async function until(what: string | (() => Promise<string>), cond: () => Promise<boolean>, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) assert.fail(`timed out after ${ms} ms waiting for ${typeof what === 'string' ? what : await what()}`);
    await sleep(500);
  }
}

/** Ids of the containers of the stack's tasks, running or not. */
async function taskContainers(): Promise<string[]> {
  const out = await docker('ps', '-aq', '--filter', `label=com.docker.stack.namespace=${STACK}`);
  return out.split('\n').filter((s) => s !== '');
}

/** What Swarm says of the service's tasks, for a failure message. */
async function tasks(): Promise<string> {
  const { stdout, stderr } = await exec('docker', ['service', 'ps', '--no-trunc', SERVICE]).catch((err: { stdout?: string; stderr?: string }) => ({
    stdout: err.stdout ?? '',
    stderr: err.stderr ?? '',
  }));
  return `the task to be running and healthy; docker service ps:\n${stdout}${stderr}`;
}

async function gone(what: string, cond: () => Promise<boolean>): Promise<void> {
  try {
    await until(what, cond, 60_000);
  } catch (err) {
    process.stderr.write(`# swarm cleanup: ${(err as Error).message}\n`);
  }
}

describe('the Swarm stack', () => {
  /** Set once this file may have made the swarm: only then does cleanup leave it. */
  let ours = false;
  let gwbridgeBefore = true;
  let image = '';

  before(async () => {
    // A swarm already there is someone else's: deploying into it, or leaving
    // it afterwards, would break their work.
    const state = await docker('info', '--format', '{{.Swarm.LocalNodeState}}');
    if (state !== 'inactive')
      throw new Error(`the test engine is already in a swarm (state ${state}): not touching it; this test needs an engine outside any swarm`);
    image = await buildImage();
    gwbridgeBefore = (await docker('network', 'ls', '-q', '--filter', 'name=^docker_gwbridge$')) !== '';
  });

  after(async () => {
    await removeTestContainers();
    if (!ours) return;
    await exec('docker', ['stack', 'rm', STACK]).catch(() => undefined);
    // `stack rm` returns before the tasks' containers and the network are gone.
    await gone('the stack’s containers to be removed', async () => (await taskContainers()).length === 0);
    await gone('the stack’s network to be removed', async () => (await docker('network', 'ls', '-q', '--filter', `name=^${STACK}_default$`)) === '');
    await exec('docker', ['swarm', 'leave', '--force']).catch(() => undefined);
    await docker('volume', 'rm', VOLUME).catch(() => undefined);
    // swarm init made this bridge; leaving keeps it.
    if (!gwbridgeBefore) await docker('network', 'rm', 'docker_gwbridge').catch(() => undefined);
  });

  it('deploys with `docker stack deploy`: one global task, root without capabilities, healthy; reads json-files, lines reach its stdout, /readyz answers, checkpoints kept', async () => {
    ours = true;
    await docker('swarm', 'init', '--advertise-addr', '127.0.0.1');
    // Neither DOCKER_GID (the stack must not need it) nor a developer's own SIDEKICK_SINKS.
    const { DOCKER_GID: _gid, SIDEKICK_SINKS: _sinks, ...env } = process.env;
    const deployed = await exec('docker', ['stack', 'deploy', '-c', STACK_FILE, STACK], { env: { ...env, SIDEKICK_IMAGE: image } }).catch(
      (err: { stderr?: string; message: string }) => assert.fail(`docker stack deploy refused ${STACK_FILE}:\n${err.stderr ?? err.message}`),
    );
    const said = deployed.stdout + deployed.stderr;
    assert.doesNotMatch(said, /Ignoring unsupported/i, 'Swarm applies every option of the file');

    let task = '';
    await until(
      tasks,
      async () => {
        for (const id of await taskContainers()) {
          if ((await docker('inspect', '-f', '{{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{end}}', id)) === 'running healthy') task = id;
        }
        return task !== '';
      },
      90_000,
    );
    // The manager counts the task running a little after its container is healthy.
    const replicas = (): Promise<string> => docker('service', 'ls', '--filter', `name=${SERVICE}`, '--format', '{{.Mode}} {{.Replicas}}');
    await until(
      async () => `global 1/1, not ${await replicas()}`,
      async () => (await replicas()) === 'global 1/1',
      15_000,
    );
    const [inspect] = JSON.parse(await docker('inspect', task)) as {
      Config: { User: string; Image: string };
      HostConfig: { CapDrop: string[] | null; ReadonlyRootfs: boolean; GroupAdd: string[] | null };
      NetworkSettings: { Ports: Record<string, { HostPort: string }[] | null> };
    }[];
    assert.equal(inspect!.Config.User, '0:0');
    assert.deepEqual(inspect!.HostConfig.CapDrop, ['ALL']);
    assert.equal(inspect!.HostConfig.ReadonlyRootfs, true);
    assert.equal(inspect!.Config.Image.split('@')[0], image);
    assert.equal(inspect!.NetworkSettings.Ports['9324/tcp']?.[0]?.HostPort, '9324', 'published in host mode');

    const app = uniqueName('swarm-app');
    await runContainer(app, [], 'i=1; while [ $i -le 20 ]; do echo "swarm line $i"; i=$((i+1)); done; sleep 60');
    const records = async (): Promise<Json[]> =>
      (await docker('logs', task))
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Json);
    const ofApp = (all: Json[]): Json[] => all.filter((r) => r.type === 'log' && r.container?.name === app);
    await until('the app’s 20 lines on the task’s stdout', async () => ofApp(await records()).length >= 20, 30_000);
    const lines = ofApp(await records());
    assert.deepEqual(
      lines.map((r) => r['message']),
      Array.from({ length: 20 }, (_, i) => `swarm line ${i + 1}`),
    );
    assert.equal(lines[0]!.host, await docker('info', '--format', '{{.Name}}'), 'SIDEKICK_HOSTNAME from {{.Node.Hostname}}');

    const ready = await fetch('http://127.0.0.1:9324/readyz');
    assert.equal(ready.status, 200);
    const metrics = await (await fetch('http://127.0.0.1:9324/metrics')).text();
    const fromFiles = Number(/^sidekick_log_streams\{source="file"\} (\d+)$/m.exec(metrics)?.[1] ?? 0);
    assert.ok(
      fromFiles >= 1,
      `logs read from the json-files (root without CAP_DAC_OVERRIDE reads them):\n${metrics
        .split('\n')
        .filter((l) => l.includes('log_streams'))
        .join('\n')}`,
    );

    await until(
      'checkpoints in the state volume',
      async () => {
        const ls = await docker('run', '--rm', '-l', RUN_LABEL, ...NO_NETWORK, '-v', `${VOLUME}:/state:ro`, IMAGE, 'ls', '/state');
        return ls.split('\n').includes('checkpoints.json');
      },
      15_000,
    );
    const { stderr } = await exec('docker', ['logs', task], { maxBuffer: 64 * 1024 * 1024 });
    assert.doesNotMatch(stderr, /cannot write checkpoints|permission denied|EACCES/i);
  });
});
