// Short `--rm` jobs (cron, CI steps, migrations): each lives for milliseconds
// and the engine removes it, its json-file with it, right after. With the
// default settings every line of every job arrives once; through the logs API
// the engine races sidekick, and every job it loses is counted and named.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { docker, IMAGE, NO_NETWORK, removeTestContainers, RUN_LABEL, Sidekick, uniqueName, type Json } from './harness.js';

const JOBS = 100;

/** Starts `JOBS` `--rm` jobs back to back (each `docker run -d` returns once it started); their names. */
async function runJobs(base: string): Promise<string[]> {
  const names = Array.from({ length: JOBS }, (_, i) => `${base}-${i + 1}`);
  for (const [i, name] of names.entries()) {
    await docker('run', '-d', '--rm', '--name', name, '-l', RUN_LABEL, ...NO_NETWORK, IMAGE, 'sh', '-c', `echo a-${i + 1}; echo b-${i + 1}`);
  }
  return names;
}

/** Lines received of each job, by name. */
function linesByJob(records: readonly Json[], names: readonly string[]): Map<string, string[]> {
  const wanted = new Set(names);
  const got = new Map<string, string[]>(names.map((n) => [n, []]));
  for (const r of records) {
    const name = r.container?.name;
    if (r.type === 'log' && name !== undefined && wanted.has(name)) got.get(name)!.push(String(r['message']));
  }
  return got;
}

function missedTotal(metrics: string): number {
  return Number(/^sidekick_containers_missed_total (\d+)/m.exec(metrics)?.[1] ?? NaN);
}

/** Whether sidekick said it missed the job `name`. */
function toldMissed(sk: Sidekick, name: string): boolean {
  return new RegExp(`"container":"${name}"[^\\n]*container missed`).test(sk.stderr);
}

/** Until every job has its two lines or is told missed (or 30 s); a job that is neither is shown with all sidekick said of it. */
async function settle(sk: Sidekick, names: readonly string[]): Promise<{ got: Map<string, string[]>; missed: number }> {
  let got = linesByJob(sk.records, names);
  let missed = NaN;
  await sk.until(
    () => {
      got = linesByJob(sk.records, names);
      const whole = [...got.values()].filter((l) => l.length === 2).length;
      const named = names.filter((n) => got.get(n)!.length === 0 && toldMissed(sk, n)).length;
      return whole + named === names.length;
    },
    30_000,
    () => {
      const open = [...got].filter(([n, l]) => l.length !== 2 && !toldMissed(sk, n));
      const said = open
        .slice(0, 2)
        .flatMap(([n]) => sk.stderr.split('\n').filter((l) => l.includes(`"${n}"`)))
        .slice(0, 30);
      return `every job read or missed (whole: ${[...got.values()].filter((l) => l.length === 2).length}; neither: ${JSON.stringify(open.slice(0, 5))}); said of them:\n${said.join('\n')}\n`;
    },
  );
  missed = missedTotal((await sk.get('/metrics')).body);
  return { got: linesByJob(sk.records, names), missed };
}

// One run of jobs, read by two sidekicks at once (each as it would alone:
// they only read): one with the default settings, one through the logs API.
describe('short --rm jobs', () => {
  let defaults: Sidekick;
  let api: Sidekick;
  let fileSource: string | null | undefined;
  let names: string[] = [];

  before(async () => {
    defaults = new Sidekick({ SIDEKICK_TYPES: 'log', SIDEKICK_LOG_LEVEL: 'info' });
    // At debug: what it did of a job that is neither read nor told missed shows in the failure.
    api = new Sidekick({ SIDEKICK_TYPES: 'log', SIDEKICK_LOG_LEVEL: 'debug', SIDEKICK_LOGS_SOURCE: 'api' });
    await Promise.all([defaults.ready(), api.ready()]);
    const long = uniqueName('long');
    await docker('run', '-d', '--name', long, '-l', RUN_LABEL, ...NO_NETWORK, IMAGE, 'sh', '-c', 'echo up; sleep 600');
    await defaults.until(() => defaults.logsOf(long).length === 1, 10_000, 'the long container’s line');
    const status = JSON.parse((await defaults.get('/status')).body) as { containers: { name: string; source: string | null }[] };
    fileSource = status.containers.find((c) => c.name === long)?.source;
    names = await runJobs(uniqueName('job'));
  });

  after(async () => {
    const exits = await Promise.all([defaults.stop(), api.stop()]);
    await removeTestContainers();
    assert.deepEqual(
      exits.map((e) => e.code),
      [0, 0],
    );
  });

  it(`with the default settings: every line of ${JOBS} jobs, each once; /status says each container is read from its json-file`, async () => {
    assert.equal(fileSource, 'file');
    const { got, missed } = await settle(defaults, names);
    const wrong = [...got].filter(([, lines]) => lines.length !== 2);
    assert.deepEqual(wrong.slice(0, 5), [], `${wrong.length} of ${JOBS} jobs without their two lines`);
    for (const [name, lines] of got) {
      const i = name.slice(name.lastIndexOf('-') + 1);
      assert.deepEqual(lines, [`a-${i}`, `b-${i}`], name);
    }
    assert.equal(missed, 0);
  });

  it(`through the logs API: at least half of ${JOBS} jobs, and every job missed counted and named`, async () => {
    const { got, missed } = await settle(api, names);
    const whole = [...got.values()].filter((l) => l.length === 2).length;
    const lost = names.filter((n) => got.get(n)!.length === 0);
    process.stdout.write(`# through the API: ${whole} of ${JOBS} jobs read, ${lost.length} missed\n`);
    assert.ok(whole >= JOBS / 2, `${whole} of ${JOBS} jobs read`);
    assert.equal(whole + lost.length, JOBS, 'a job is read whole or not at all');
    assert.equal(missed, lost.length, 'every job missed is counted');
    for (const name of lost) assert.ok(toldMissed(api, name), `${name} told missed`);
  });
});
