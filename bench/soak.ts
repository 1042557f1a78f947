// The long run: sidekick for 30 minutes (--minutes=N to change) with a
// container started every second (10 numbered lines, then it exits and is
// removed a little later) beside two containers printing steadily. Every 10 s
// it samples sidekick's resident size, open descriptors and sockets; at the
// end it checks that every line arrived once and reports the slopes, as a
// table on stdout and in bench/SOAK.md.
//   npm run soak [-- --minutes=30]

import { writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Collector, docker, IMAGE_ENV, IMAGE, LABEL, openFds, removeBenchContainers, rssMiB, sleep } from './lib.js';

const MAIN = fileURLToPath(new URL('../src/main.js', import.meta.url));
const OUT = fileURLToPath(new URL('../../bench/SOAK.md', import.meta.url));
const minutes = Number(process.argv.find((a) => a.startsWith('--minutes='))?.slice('--minutes='.length) ?? 30);
const SAMPLE_MS = 10_000;
/** Steady containers: lines per second each (in bursts of 20). */
const STEADY = 2;
const STEADY_RATE = 200;
const CHURN_LINES = 10;

interface Sample {
  readonly atS: number;
  readonly rssMiB: number;
  readonly fds: number;
  readonly sockets: number;
}

/** Least-squares slope of y over x. */
function slope(xs: readonly number[], ys: readonly number[]): number {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

async function main(): Promise<void> {
  const received = new Map<string, Set<number>>();
  let duplicates = 0;
  let notJson = 0;
  const sk = new Collector(
    process.execPath,
    [MAIN],
    {
      SIDEKICK_TYPES: 'log',
      SIDEKICK_STATE_DIR: 'off',
      SIDEKICK_METRICS_ADDR: '127.0.0.1:0',
      ...IMAGE_ENV,
      SIDEKICK_INCLUDE: `label:${LABEL}`,
    },
    (line) => {
      let r: { container?: { name: string }; message?: string };
      try {
        r = JSON.parse(line) as typeof r;
      } catch {
        notJson++;
        return;
      }
      const name = r.container?.name;
      if (name === undefined || r.message === undefined) return;
      let seen = received.get(name);
      if (seen === undefined) {
        seen = new Set();
        received.set(name, seen);
      }
      const n = Number(r.message);
      if (seen.has(n)) duplicates++;
      seen.add(n);
    },
  );
  if (!(await sk.until(() => sk.stderr.includes('sidekick is collecting'), 30_000))) throw new Error(`sidekick did not start: ${sk.stderr}`);
  const expected = new Map<string, number>();
  const started = Date.now();
  const end = started + minutes * 60_000;
  const steady: string[] = [];
  for (let i = 0; i < STEADY; i++) {
    const name = `soak-steady-${process.pid}-${i}`;
    const burst = STEADY_RATE / 5;
    await docker(
      'run',
      '-d',
      '--name',
      name,
      '-l',
      LABEL,
      IMAGE,
      'sh',
      '-c',
      `i=0; while true; do j=0; while [ $j -lt ${burst} ]; do i=$((i+1)); j=$((j+1)); echo $i; done; usleep 200000; done`,
    );
    steady.push(name);
  }
  const samples: Sample[] = [];
  const sample = (): void => {
    const { fds, sockets } = openFds(sk.pid);
    samples.push({ atS: (Date.now() - started) / 1000, rssMiB: rssMiB(sk.pid), fds, sockets });
  };
  const sampler = setInterval(sample, SAMPLE_MS);
  const churned: string[] = [];
  let n = 0;
  while (Date.now() < end) {
    const name = `soak-churn-${process.pid}-${n++}`;
    await docker('run', '-d', '--name', name, '-l', LABEL, IMAGE, 'sh', '-c', `seq 1 ${CHURN_LINES}`);
    expected.set(name, CHURN_LINES);
    churned.push(name);
    // Removed once surely read: ten seconds later.
    if (churned.length > 10) await docker('rm', '-f', churned.shift()!);
    if (n % 60 === 0) process.stdout.write(`# ${Math.round((Date.now() - started) / 60_000)} min: ${n} containers, rss ${rssMiB(sk.pid).toFixed(0)} MiB\n`);
    await sleep(1000);
  }
  // Steady containers: stop them, then count what they printed (docker logs) against what arrived.
  for (const name of steady) {
    await docker('stop', '-t', '1', name);
    const printed = (await docker('logs', '--tail', '1', name)).trim();
    expected.set(name, Number(printed));
  }
  const complete = (): boolean => [...expected].every(([name, count]) => (received.get(name)?.size ?? 0) >= count);
  await sk.until(complete, 60_000);
  clearInterval(sampler);
  sample();
  const dockerSockets = samples.at(-1)!.sockets;
  await sk.stop();
  await removeBenchContainers();

  let missing = 0;
  for (const [name, count] of expected) missing += count - (received.get(name)?.size ?? 0);
  const half = samples.filter((s) => s.atS >= (minutes * 60) / 2);
  const hours = (xs: readonly Sample[]): number[] => xs.map((s) => s.atS / 3600);
  const rows: [string, string][] = [
    ['duration', `${minutes} min`],
    ['containers churned', `${n} (one a second, ${CHURN_LINES} lines each)`],
    ['steady traffic', `${STEADY} containers × ${STEADY_RATE} lines/s`],
    ['lines expected', String([...expected.values()].reduce((a, b) => a + b, 0))],
    ['lines missing', String(missing)],
    ['lines repeated', String(duplicates)],
    ['stdout lines not JSON', String(notJson)],
    [
      'RSS first / last / max',
      `${samples[0]?.rssMiB.toFixed(0)} / ${samples.at(-1)!.rssMiB.toFixed(0)} / ${Math.max(...samples.map((s) => s.rssMiB)).toFixed(0)} MiB`,
    ],
    [
      'RSS slope, second half',
      `${slope(
        hours(half),
        half.map((s) => s.rssMiB),
      ).toFixed(1)} MiB/h`,
    ],
    ['open descriptors first / last / max', `${samples[0]?.fds} / ${samples.at(-1)!.fds} / ${Math.max(...samples.map((s) => s.fds))}`],
    [
      'descriptor slope, second half',
      `${slope(
        hours(half),
        half.map((s) => s.fds),
      ).toFixed(1)} /h`,
    ],
    ['sockets at the end (Docker connections and listeners)', String(dockerSockets)],
  ];
  const table = ['| | |', '|---|---|', ...rows.map(([k, v]) => `| ${k} | ${v} |`)].join('\n');
  const report = `# Soak\n\n${new Date().toISOString()} on ${hostname()}, \`npm run soak -- --minutes=${minutes}\`.\n\n${table}\n`;
  process.stdout.write(`\n${report}`);
  writeFileSync(OUT, report);
  if (missing > 0 || duplicates > 0 || notJson > 0) process.exitCode = 1;
}

main().catch((err: Error) => {
  process.stderr.write(`soak: ${err.stack ?? err.message}\n`);
  process.exit(1);
});
