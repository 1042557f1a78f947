// sidekick against Podman's Docker-compatible API (`podman system service`),
// with DOCKER_HOST pointing at its socket: the lines of a container running
// before sidekick started and of one started while it runs, their events, an
// inspect record, stats samples and /metrics. test/e2e/podman.sh starts the
// service (if none answers) and imports the test image into Podman's storage.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { RUN_LABEL, Sidekick, sleep, uniqueName, type Json } from './harness.js';

const exec = promisify(execFile);

const SOCKET = process.env['SIDEKICK_PODMAN_SOCK'] ?? '/run/podman/podman.sock';
const IMAGE = process.env['SIDEKICK_PODMAN_IMAGE'] ?? 'localhost/sidekick-test/busybox:latest';
const SCRIPT = fileURLToPath(new URL('../../../test/e2e/podman.sh', import.meta.url));
const RFC3339_NANO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/;

/** The podman client, talking to the service sidekick reads (not to Podman's storage directly). */
async function podman(...args: string[]): Promise<string> {
  const { stdout } = await exec('podman', ['--url', `unix://${SOCKET}`, ...args], { maxBuffer: 16 * 1024 * 1024 });
  return stdout.trim();
}

/**
 * `podman run -d` with the run's label; returns the full container id. No
 * network, as engine.sh's dockerd has none: nothing here needs one, and
 * netavark's firewall rules are one thing less that can fail.
 */
async function run(name: string, command: string): Promise<string> {
  return podman('run', '-d', '--name', name, '-l', RUN_LABEL, '--network', 'none', '--stop-timeout', '1', IMAGE, 'sh', '-c', command);
}

const ofAction = (records: readonly Json[], action: string): Json[] => records.filter((r) => r['action'] === action);

describe('Podman: sidekick reads its Docker-compatible API', () => {
  let sk: Sidekick;
  let host: string;
  const early = uniqueName('podman-early');
  let earlyId: string;
  /** How many lines the early container had printed when sidekick started: at least these came from the backlog. */
  let printedBefore: number;

  before(async () => {
    // Started from a directory deleted right after, as a checkout may be: the service must not depend on it.
    const cwd = mkdtempSync(join(tmpdir(), 'sidekick-podman-cwd-'));
    try {
      await exec('bash', [SCRIPT], { maxBuffer: 1024 * 1024, cwd });
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
    host = await podman('info', '--format', '{{.Host.Hostname}}');
    earlyId = await run(early, 'i=0; while :; do echo early-$i; i=$((i+1)); sleep 0.1; done');
    for (let i = 0; i < 100; i++) {
      printedBefore = (await podman('logs', early)).split('\n').filter((l) => l !== '').length;
      if (printedBefore >= 5) break;
      await sleep(100);
    }
    sk = new Sidekick({
      DOCKER_HOST: `unix://${SOCKET}`,
      SIDEKICK_STATS_INTERVAL: '1s',
      // Not 9324: other tests' sidekicks may hold it.
      SIDEKICK_METRICS_ADDR: '127.0.0.1:0',
    });
    await sk.ready();
  });

  after(async () => {
    const exit = sk === undefined ? undefined : await sk.stop();
    const ids = (await podman('ps', '-aq', '--filter', `label=${RUN_LABEL}`)).split('\n').filter((s) => s !== '');
    if (ids.length > 0) await podman('rm', '-f', '-t', '0', ...ids);
    if (exit !== undefined) {
      assert.equal(exit.code, 0, `sidekick exit: ${JSON.stringify(exit)}\n${sk.stderr.slice(-2000)}`);
      assert.deepEqual(sk.notJson, []);
    }
  });

  it('delivers the lines of a container running before it started: its backlog, then what follows, none twice', async () => {
    await sk.until(() => sk.logsOf(early).length >= printedBefore + 20, 15_000, `${printedBefore + 20} lines of ${early}`);
    const logs = sk.logsOf(early);
    // In the order printed, from the first, without a gap or a repeat.
    assert.deepEqual(
      logs.map((r) => r['message']),
      logs.map((_, i) => `early-${i}`),
    );
    for (const r of logs) {
      assert.equal(r['stream'], 'stdout');
      assert.equal(r.host, host);
      assert.deepEqual(r.container, { id: earlyId, name: early, image: IMAGE, labels: Object.fromEntries([RUN_LABEL.split('=')]) });
      // Podman's API gives whole seconds: padded to 9 digits, as Docker's.
      assert.match(r.time, RFC3339_NANO);
    }
    assert.equal(new Set(logs.map((r) => r['id'])).size, logs.length, 'every line its own id');
  });

  it('delivers the lines of a container started while it runs, with its create, start and die events', async () => {
    const name = uniqueName('podman-later');
    const id = await run(name, 'echo out-1; echo err-1 >&2; echo out-2; exit 3');
    await podman('wait', name);
    await sk.until(
      () => sk.logsOf(name).length === 3 && ofAction(sk.of(name, 'event'), 'die').length === 1,
      15_000,
      () => `3 lines and the die event of ${name}; saw ${JSON.stringify(sk.of(name).map((r) => r['message'] ?? r['action']))}`,
    );
    assert.deepEqual(
      sk
        .logsOf(name)
        .map((r) => [r['stream'], r['message']])
        .sort(),
      [
        ['stderr', 'err-1'],
        ['stdout', 'out-1'],
        ['stdout', 'out-2'],
      ],
    );
    for (const r of sk.logsOf(name)) assert.match(r.time, RFC3339_NANO);

    const events = sk.of(name, 'event');
    const at = (action: string): string => {
      const found = ofAction(events, action);
      assert.equal(found.length, 1, `one ${action} event of ${name}; saw ${JSON.stringify(events.map((e) => e['action']))}`);
      return found[0]!.time;
    };
    assert.ok(at('create') < at('start') && at('start') < at('die'), 'create, start, die in that order');
    const die = ofAction(events, 'die')[0]!;
    assert.deepEqual(die.container, { id, name, image: IMAGE, labels: Object.fromEntries([RUN_LABEL.split('=')]) });
    const actor = die['actor'] as { id: string; attributes: Record<string, string> };
    assert.equal(actor.id, id);
    assert.equal(actor.attributes['exitCode'], '3');
    for (const e of events) assert.match(e.time, RFC3339_NANO);

    // Podman tells a removal as `remove`, where Docker says `destroy`.
    await podman('rm', name);
    await sk.until(() => ofAction(sk.of(name, 'event'), 'remove').length === 1, 15_000, `the remove event of ${name}`);
    // ... and sidekick forgets it then, as it does at Docker's destroy.
    const listed = async (): Promise<boolean> =>
      (JSON.parse((await sk.get('/status')).body) as { containers: { id: string }[] }).containers.some((c) => c.id === id);
    for (const end = Date.now() + 5000; (await listed()) && Date.now() < end; ) await sleep(100);
    assert.equal(await listed(), false, 'a removed container leaves /status');
  });

  it('sends an inspect record of each container, with Podman’s answer and the environment redacted', async () => {
    await sk.until(() => sk.of(early, 'inspect').length > 0, 15_000, `the inspect record of ${early}`);
    const r = sk.of(early, 'inspect')[0]!;
    const inspect = r['inspect'] as { Id: string; Name: string; State: { Running: boolean }; Config: { Env: string[]; Labels: Record<string, string> } };
    assert.equal(inspect.Id, earlyId);
    assert.equal(inspect.Name, `/${early}`);
    assert.equal(inspect.State.Running, true);
    assert.ok(inspect.Config.Env.length > 0);
    for (const e of inspect.Config.Env) assert.match(e, /^[^=]+=<redacted>$/);
    assert.match(r.time, RFC3339_NANO);
  });

  it('samples stats every second, with sane numbers', async () => {
    await sk.until(() => sk.of(early, 'stats').length >= 3, 15_000, `3 stats samples of ${early}`);
    const samples = sk.of(early, 'stats');
    type Stats = { cpu_percent: number | null; cpu_seconds: number; memory: { usage: number; limit: number; percent: number }; pids: number };
    let cpu = 0;
    samples.forEach((r, i) => {
      const s = r['stats'] as Stats;
      assert.match(r.time, RFC3339_NANO);
      assert.ok(s.cpu_seconds > 0 && s.cpu_seconds >= cpu, `cpu_seconds ${s.cpu_seconds} after ${cpu}`);
      cpu = s.cpu_seconds;
      if (i === 0) assert.equal(s.cpu_percent, null, 'no CPU % on the first sample');
      else assert.ok(s.cpu_percent !== null && s.cpu_percent >= 0 && s.cpu_percent <= 100 * cpus().length, `cpu_percent ${s.cpu_percent}`);
      assert.ok(s.memory.usage > 0 && s.memory.limit > 0 && s.memory.usage <= s.memory.limit, `memory ${JSON.stringify(s.memory)}`);
      assert.ok(s.memory.percent > 0 && s.memory.percent <= 100);
      assert.ok(s.pids >= 1, `pids ${s.pids}`);
    });
  });

  it('serves the container metrics on /metrics', async () => {
    const value = (text: string, metric: string): number | undefined => {
      const line = text.split('\n').find((l) => l.startsWith(`${metric}{`) && l.includes(`id="${earlyId}"`));
      return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
    };
    let text = '';
    // The metrics of a container come with its stats samples, a second apart.
    for (let i = 0; i < 75 && value(text, 'container_cpu_usage_seconds_total') === undefined; i++) {
      if (i > 0) await sleep(200);
      const res = await sk.get('/metrics');
      assert.equal(res.status, 200);
      text = res.body;
    }
    assert.ok((value(text, 'container_cpu_usage_seconds_total') ?? 0) > 0, `container_cpu_usage_seconds_total of ${early}`);
    assert.ok((value(text, 'container_memory_usage_bytes') ?? 0) > 0, `container_memory_usage_bytes of ${early}`);
    assert.match(text, new RegExp(`container_processes\\{[^}]*name="${early}"`));
  });
});
