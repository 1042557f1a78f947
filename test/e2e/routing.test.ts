// Choosing what goes where, end to end: containers selected by matchers and
// by their own labels, two sinks each with its types and containers, a live
// /tap, tags and fields, redaction and JSON parsing.

import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Receiver } from './receiver.js';
import { removeTestContainers, runContainer, Sidekick, sleep, uniqueName, waitExit, type Json } from './harness.js';

const SECRET = 'hunter2-do-not-leak';
const TOKEN = 'tap-token-e2e';

describe('choosing what goes where', () => {
  const receiver = new Receiver(() => 'ndjson');
  after(async () => {
    await receiver.down();
    await removeTestContainers();
  });

  it('gives each sink exactly its share; an opted-out container sends nothing; secrets stay home; JSON arrives parsed', async () => {
    await receiver.up();
    const run = uniqueName('route');
    const base = `http://127.0.0.1:${receiver.port}`;
    const sinks = [`${base}/front?flush=100ms&types=log&include=label:tier=front`, `${base}/back?flush=100ms&types=event%2Cinspect&exclude=label:tier=front`];
    const sk = new Sidekick({
      SIDEKICK_SINKS: sinks.join(','),
      SIDEKICK_INCLUDE: `label:sk.route=${run}`,
      SIDEKICK_TAG: '{{.Name}}/{{.ID}}',
      SIDEKICK_FIELDS: 'label:tier,env:DEPLOY_ENV',
      SIDEKICK_STATIC_FIELDS: 'dc=test1',
      SIDEKICK_REDACT_PATTERNS: 'bearer',
      SIDEKICK_PARSE_JSON: 'true',
      SIDEKICK_TAP: 'on',
      SIDEKICK_METRICS_TOKEN: TOKEN,
      SIDEKICK_STATS_INTERVAL: '0',
    });
    const web = `${run}-web`;
    const db = `${run}-db`;
    const quiet = `${run}-optout`;
    const outsider = uniqueName('not-included');
    let tapped = '';
    const tap = new AbortController();
    try {
      await sk.ready();
      const res = await fetch(`http://127.0.0.1:${sk.metricsPort}/tap?types=log&include=label:tier=back`, {
        headers: { authorization: `Bearer ${TOKEN}` },
        signal: tap.signal,
      });
      assert.equal(res.status, 200);
      const reading = (async () => {
        const decoder = new TextDecoder();
        for await (const chunk of res.body!) tapped += decoder.decode(chunk as Uint8Array, { stream: true });
      })().catch(() => undefined);

      const label = ['-l', `sk.route=${run}`];
      await runContainer(
        web,
        [...label, '-l', 'tier=front', '-e', 'DEPLOY_ENV=prod'],
        `echo plain; echo '{"level":"info","msg":"hello","n":1}'; echo "Authorization: Bearer abc.def-ghi"`,
      );
      await runContainer(db, [...label, '-l', 'tier=back', '-e', `DB_PASSWORD=${SECRET}`], 'echo db line');
      await runContainer(quiet, [...label, '-l', 'tier=front', '-l', 'sidekick.exclude=true'], 'echo must not be seen');
      await runContainer(outsider, ['-l', 'tier=front'], 'echo not included');
      for (const name of [web, db, quiet, outsider]) await waitExit(name);
      const front = (): Json[] => receiver.records('/front');
      const back = (): Json[] => receiver.records('/back');
      await sk.until(
        () => front().length >= 3 && back().some((r) => r.type === 'inspect') && back().some((r) => r['action'] === 'die') && tapped.includes('db line'),
        20_000,
        () => `both sinks and the tap (front ${front().length}, back ${back().length}, tap ${tapped.length} bytes)`,
      );
      await sleep(1000);

      // /front: the log lines of tier=front containers that are collected, nothing else.
      assert.deepEqual(
        front().map((r) => [r.type, r.container?.name]),
        Array.from({ length: 3 }, () => ['log', web]),
      );
      const lines = front();
      assert.equal(lines[0]!['message'], 'plain');
      assert.deepEqual(lines[1]!['json'], { level: 'info', msg: 'hello', n: 1 });
      assert.equal(lines[1]!['message'], '{"level":"info","msg":"hello","n":1}');
      assert.equal(lines[2]!['message'], 'Authorization: Bearer <redacted>');
      const id = lines[0]!.container!.id;
      assert.equal(lines[0]!['tag'], `${web}/${id.slice(0, 12)}`);
      assert.deepEqual(lines[0]!['fields'], { dc: 'test1', tier: 'front', DEPLOY_ENV: 'prod' });

      // /back: events and inspect of the other collected container only.
      const backNames = new Set(back().map((r) => r.container?.name ?? `(${r['object']})`));
      assert.deepEqual(
        [...backNames].filter((n) => !n.startsWith('(')),
        [db],
      );
      assert.ok(back().every((r) => r.type === 'event' || r.type === 'inspect'));
      const inspect = back().find((r) => r.type === 'inspect')!;
      assert.ok(JSON.stringify(inspect).includes('DB_PASSWORD=<redacted>'));

      // The opted-out and the not-included containers: nowhere, not even their events.
      const everything = [...front(), ...back(), ...sk.records];
      for (const name of [quiet, outsider])
        assert.deepEqual(
          everything.filter((r) => r.container?.name === name),
          [],
          name,
        );
      assert.equal(JSON.stringify(receiver.accepted).includes(SECRET), false, 'the env secret reaches no sink');
      assert.equal(JSON.stringify(sk.records).includes(SECRET), false);

      // /tap: the live stream of what the client asked for.
      const tappedRecords = tapped
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Json);
      assert.deepEqual(
        tappedRecords.map((r) => [r.type, r.container?.name, r['message']]),
        [['log', db, 'db line']],
      );
      assert.equal((await fetch(`http://127.0.0.1:${sk.metricsPort}/tap`)).status, 401, '/tap needs the token');
      tap.abort();
      await reading;
    } finally {
      tap.abort();
      await sk.stop();
    }
  });
});
