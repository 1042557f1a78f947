// sidekick against the real engine: the exact records for containers that
// print to stdout and stderr, use a TTY, carry labels, exit at once, and run
// from before sidekick started.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { docker, IMAGE, removeTestContainers, RUN_LABEL, runContainer, Sidekick, uniqueName, waitExit, type Json } from './harness.js';

const RFC3339_NANO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/;
const runLabel = Object.fromEntries([RUN_LABEL.split('=')]) as Record<string, string>;

/** `docker logs -t` for one stream: [time, message] pairs, as Docker itself tells them. */
async function dockerLogs(name: string, stream: 'stdout' | 'stderr'): Promise<[string, string][]> {
  const { execFile } = await import('node:child_process');
  const text = await new Promise<string>((resolve, reject) => {
    execFile('docker', ['logs', '-t', name], (err, stdout, stderr) => {
      if (err) reject(err);
      else resolve(stream === 'stdout' ? stdout : stderr);
    });
  });
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      const sp = l.indexOf(' ');
      return [l.slice(0, sp), l.slice(sp + 1).replace(/\r$/, '')];
    });
}

describe('collecting from the real engine', () => {
  let sk: Sidekick;
  let host: string;

  before(async () => {
    host = await docker('info', '--format', '{{.Name}}');
    sk = new Sidekick();
    await sk.ready();
  });

  after(async () => {
    const exit = await sk.stop();
    await removeTestContainers();
    assert.equal(exit.code, 0, `sidekick exit: ${JSON.stringify(exit)}\n${sk.stderr.slice(-2000)}`);
    assert.ok(exit.ms < 10_000, `shutdown took ${exit.ms} ms`);
    assert.deepEqual(sk.notJson, []);
  });

  it('delivers stdout and stderr lines of a container started later, exactly, with Docker’s timestamps', async () => {
    const name = uniqueName('std');
    const id = await runContainer(
      name,
      ['-l', 'team=blue', '-l', 'com.docker.compose.project=shop', '-l', 'com.docker.compose.service=web'],
      'echo out-1; echo err-1 >&2; echo out-2; printf "no newline at end"',
    );
    await waitExit(name);
    await sk.until(() => sk.logsOf(name).length === 4, 15_000, `4 log lines of ${name}`);
    const container = {
      id,
      name,
      image: IMAGE,
      labels: { ...runLabel, team: 'blue', 'com.docker.compose.project': 'shop', 'com.docker.compose.service': 'web' },
      compose: { project: 'shop', service: 'web' },
    };
    const expected: Json[] = [];
    for (const stream of ['stdout', 'stderr'] as const) {
      for (const [time, message] of await dockerLogs(name, stream)) {
        // The id: the container, Docker's time, and the line's place at that time (1: no two lines share one here).
        const lineId = `${id.slice(0, 16)}-${time.replace(/\D/g, '')}-1`;
        // The tag: SIDEKICK_TAG's default, {{.Name}}.
        expected.push({ type: 'log', time, host, id: lineId, container, tag: name, stream, message } as Json);
      }
    }
    const byTime = (a: Json, b: Json): number => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0);
    assert.deepEqual([...sk.logsOf(name)].sort(byTime), expected.sort(byTime));
    assert.deepEqual(
      sk
        .logsOf(name)
        .map((r) => r['message'])
        .sort(),
      ['err-1', 'no newline at end', 'out-1', 'out-2'],
    );
  });

  it('reads a TTY container’s raw stream, without the terminal’s \\r', async () => {
    const name = uniqueName('tty');
    await runContainer(name, ['-t'], 'echo one; echo two');
    await waitExit(name);
    await sk.until(() => sk.logsOf(name).length === 2, 15_000, `2 TTY lines of ${name}`);
    const logs = sk.logsOf(name);
    assert.deepEqual(
      logs.map((r) => [r['stream'], r['message']]),
      [
        ['stdout', 'one'],
        ['stdout', 'two'],
      ],
    );
    for (const r of logs) assert.match(r.time, RFC3339_NANO);
  });

  it('collects a container that exits within milliseconds, with its events and its inspect record', async () => {
    const name = uniqueName('brief');
    const id = await runContainer(name, ['-e', 'API_TOKEN=hunter2-secret', '-e', 'EMPTY='], 'echo bye');
    await waitExit(name);
    await docker('rm', name);
    await sk.until(() => sk.of(name, 'event').some((r) => r['action'] === 'destroy'), 15_000, `the destroy event of ${name}`);
    assert.deepEqual(
      sk.logsOf(name).map((r) => r['message']),
      ['bye'],
    );
    const actions = sk.of(name, 'event').map((r) => r['action']);
    for (const a of ['create', 'start', 'die', 'destroy']) assert.equal(actions.filter((x) => x === a).length, 1, a);
    const died = sk.of(name, 'event').find((r) => r['action'] === 'die')!;
    assert.equal(died['object'], 'container');
    assert.equal(died['scope'], 'local');
    assert.deepEqual(died.container?.id, id);
    assert.equal((died['actor'] as { attributes: Record<string, string> }).attributes['exitCode'], '0');
    assert.match(died.time, RFC3339_NANO);

    const inspects = sk.of(name, 'inspect');
    assert.equal(inspects.length, 1);
    const inspect = inspects[0]!['inspect'] as { Id: string; Config: { Env: string[] } };
    assert.equal(inspect.Id, id);
    assert.ok(inspect.Config.Env.includes('API_TOKEN=<redacted>'), inspect.Config.Env.join(' '));
    assert.ok(inspect.Config.Env.includes('EMPTY=<redacted>'));
    assert.ok(!JSON.stringify(sk.records).includes('hunter2-secret'), 'the secret leaked into the stream');
  });

  it('types image and volume events as such', async () => {
    const volume = uniqueName('vol');
    const tag = `${uniqueName('img')}:t`;
    await docker('volume', 'create', volume);
    await docker('volume', 'rm', volume);
    await docker('tag', IMAGE, tag);
    await docker('rmi', tag);
    await sk.until(
      () =>
        sk.records.some((r) => r.type === 'event' && r['object'] === 'image' && r['action'] === 'untag') &&
        sk.records.some((r) => r.type === 'event' && r['object'] === 'volume' && r['action'] === 'destroy'),
      15_000,
      'image and volume events',
    );
    const vol = sk.records.filter((r) => r.type === 'event' && r['object'] === 'volume' && (r['actor'] as { id: string }).id === volume);
    assert.deepEqual(
      vol.map((r) => r['action']),
      ['create', 'destroy'],
    );
    for (const r of vol) assert.equal(r.container, undefined);
  });
});

describe('containers running before sidekick starts', () => {
  it('with SIDEKICK_BACKLOG=tail:N: the last N lines, then everything after', async () => {
    const name = uniqueName('backlog');
    // The new line waits for the backlog to have been read: a slow start of
    // sidekick must not find it among the last 5.
    await runContainer(
      name,
      [],
      'i=0; while [ $i -lt 20 ]; do i=$((i+1)); echo old-$i; done; while [ ! -e /tmp/go ]; do usleep 50000; done; echo new-1; sleep 30',
    );
    await new Promise((r) => setTimeout(r, 1000));
    const sk = new Sidekick({ SIDEKICK_BACKLOG: 'tail:5' });
    try {
      await sk.ready();
      await sk.until(() => sk.logsOf(name).length >= 5, 15_000, `the backlog of ${name}`);
      await docker('exec', name, 'touch', '/tmp/go');
      await sk.until(() => sk.logsOf(name).some((r) => r['message'] === 'new-1'), 15_000, `the new line of ${name}`);
      assert.deepEqual(
        sk.logsOf(name).map((r) => r['message']),
        ['old-16', 'old-17', 'old-18', 'old-19', 'old-20', 'new-1'],
      );
    } finally {
      const exit = await sk.stop();
      await removeTestContainers();
      assert.equal(exit.code, 0);
    }
  });

  it('with SIDEKICK_BACKLOG=none: from the moment sidekick starts, with their inspect record', async () => {
    const name = uniqueName('early');
    await runContainer(name, [], 'echo before-start; sleep 1; i=0; while [ $i -lt 600 ]; do i=$((i+1)); echo tick-$i; sleep 0.1; done');
    await new Promise((r) => setTimeout(r, 1500));
    const sk = new Sidekick({ SIDEKICK_BACKLOG: 'none' });
    try {
      await sk.ready();
      await sk.until(() => sk.logsOf(name).length >= 5, 15_000, `5 lines of ${name}`);
      const messages = sk.logsOf(name).map((r) => r['message'] as string);
      assert.ok(!messages.includes('before-start'), 'a line from before sidekick started was read');
      const seq = messages.map((m) => Number(m.slice('tick-'.length)));
      for (let i = 1; i < seq.length; i++) assert.equal(seq[i], seq[i - 1]! + 1, `sequence ${seq.join(',')}`);
      assert.equal(sk.of(name, 'inspect').length, 1);
    } finally {
      const exit = await sk.stop();
      await removeTestContainers();
      assert.equal(exit.code, 0);
    }
  });
});
