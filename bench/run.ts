// `npm run bench`: sidekick against the engine's own ceiling and against Node
// peers, in one run, so that ratios mean something on a noisy machine. Each
// figure is the median of the repetitions, with min and max. Prints markdown
// tables and writes them, with the machine, to bench/RESULTS.md.
//
//   node dist/bench/run.js [--quick] [--only=ceiling,throughput,peers,logsource,latency,jobs,scale,stats,young] [--sinks=null,udp,udp-disk,http,otlp]

import { execFile } from 'node:child_process';
import { createReadStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  Collector,
  cpuSeconds,
  docker,
  dockerdPid,
  epochSeconds,
  fmt,
  IMAGE_ENV,
  IMAGE_NODE_OPTIONS,
  httpReceiver,
  otlpReceiver,
  IMAGE,
  LABEL,
  openFds,
  peakRssMiB,
  percentile,
  printer,
  rawFollow,
  removeBenchContainers,
  residentMiB,
  runSeconds,
  SequenceCounter,
  sleep,
  stat,
  udpReceiver,
  type Stat,
} from './lib.js';

const args = process.argv.slice(2);
const QUICK = args.includes('--quick');
const ONLY = args
  .find((a) => a.startsWith('--only='))
  ?.slice('--only='.length)
  .split(',');
const REPS = QUICK ? 1 : 3;
const LINES = QUICK ? 100_000 : 500_000;
/** sidekick unbundled, with its node_modules: `npm start`, a development run. */
const MAIN = fileURLToPath(new URL('../src/main.js', import.meta.url));
/** The build the container image and the npm package (the systemd unit) run (`npm run bench` builds it). */
const BUNDLE = fileURLToPath(new URL('../app/sidekick.mjs', import.meta.url));
const PEERS = fileURLToPath(new URL('../../bench/peers/', import.meta.url));
const RESULTS = fileURLToPath(new URL('../../bench/RESULTS.md', import.meta.url));
/** The low-memory setting the README offers: V8's young generation capped at 2 × 1 MiB. */
const SMALL_YOUNG_GENERATION = '--max-semi-space-size=1';

const out: string[] = [];
function print(line = ''): void {
  process.stdout.write(line + '\n');
  out.push(line);
}
const wanted = (s: string): boolean => ONLY === undefined || ONLY.includes(s);
let seq = 0;
const name = (base: string): string => `skb-${base}-${process.pid}-${++seq}`;

/** The message of a JSON record line, cheaply (our lines need no unescaping). */
function messageOf(line: string, key: string): string {
  const at = line.indexOf(`"${key}":"`);
  if (at < 0) return '';
  const start = at + key.length + 4;
  return line.slice(start, line.indexOf('"', start));
}

interface Run {
  linesPerSec: number;
  mbPerSec: number;
  cpuUsPerLine: number;
  dockerdUsPerLine: number;
  peakRss: number;
  runSec: number;
  lost: number;
  duplicates: number;
}

type Sink = 'null' | 'udp' | 'udp-disk' | 'http' | 'otlp';
const SINKS: readonly Sink[] = ['null', 'udp', 'udp-disk', 'http', 'otlp'];
/** `--sinks=http,otlp`: the throughput rows of these sinks only. */
const ONLY_SINKS = args
  .find((a) => a.startsWith('--sinks='))
  ?.slice('--sinks='.length)
  .split(',') as Sink[] | undefined;
if (ONLY_SINKS !== undefined) {
  const unknown = ONLY_SINKS.filter((s) => !SINKS.includes(s));
  if (unknown.length > 0) throw new Error(`--sinks=${unknown.join(',')}: allowed: ${SINKS.join(', ')}`);
}

interface CollectorKind {
  readonly label: string;
  start(sink: Sink, onMessage: (m: string) => void): Promise<Collector>;
}

/** sidekick reading logs through the logs API, or from the engine's json-files (with node flags beside the heap limit). */
const sidekickReading = (source: 'api' | 'files' | 'auto', nodeFlags = ''): CollectorKind => ({
  label:
    (source === 'api' ? 'sidekick (logs API)' : source === 'files' ? 'sidekick (json-file)' : 'sidekick (default: auto)') +
    (nodeFlags === '' ? '' : `, ${nodeFlags}`),
  async start(sink, onMessage) {
    // The benchmark itself reads stdout: block rather than drop when it reads slower than sidekick writes.
    let sinks = 'stdout://?policy=block';
    let closer: (() => unknown) | undefined;
    let stateDir = 'off';
    if (sink === 'udp' || sink === 'udp-disk') {
      const rx = await udpReceiver(onMessage);
      sinks = `syslog+udp://127.0.0.1:${rx.port}?max=4096`;
      closer = rx.close;
      if (sink === 'udp-disk') {
        // Every record through the disk buffer's segments, in a state folder of its own.
        const dir = mkdtempSync(join(tmpdir(), 'skb-state-'));
        sinks += '&buffer=disk';
        stateDir = dir;
        closer = () => {
          rx.close();
          rmSync(dir, { recursive: true, force: true });
        };
      }
    } else if (sink === 'http') {
      const rx = await httpReceiver((l) => onMessage(messageOf(l, 'message')));
      sinks = `http://127.0.0.1:${rx.port}/in`;
      closer = rx.close;
    } else if (sink === 'otlp') {
      const rx = await otlpReceiver(onMessage);
      sinks = `otlp+http://127.0.0.1:${rx.port}`;
      closer = rx.close;
    }
    const c = new Collector(
      process.execPath,
      [MAIN],
      // The heap limit the image and the systemd unit run with (one sink: 2 x 64 MiB + 64 MiB).
      {
        SIDEKICK_SINKS: sinks,
        SIDEKICK_TYPES: 'log',
        SIDEKICK_LOGS_SOURCE: source,
        SIDEKICK_METRICS_ADDR: 'off',
        SIDEKICK_LOG_LEVEL: 'info',
        SIDEKICK_STATE_DIR: stateDir,
        ...IMAGE_ENV,
        NODE_OPTIONS: `${IMAGE_NODE_OPTIONS} ${nodeFlags}`.trim(),
      },
      (l) => onMessage(messageOf(l, 'message')),
    );
    c.child.once('exit', () => void closer?.());
    await c.until(() => c.stderr.includes('sidekick is collecting'), 20_000);
    return c;
  },
});
const sidekickApi = sidekickReading('api');
const sidekickFiles = sidekickReading('files');
const sidekickDefault = sidekickReading('auto');

const loghose: CollectorKind = {
  label: 'docker-loghose',
  async start(_sink, onMessage) {
    const c = new Collector(process.execPath, [`${PEERS}loghose.cjs`], {}, (l) => onMessage(messageOf(l, 'line')));
    await sleep(1500);
    return c;
  },
};

const logagent: CollectorKind = {
  label: '@sematext/logagent',
  async start(_sink, onMessage) {
    const c = new Collector(
      process.execPath,
      [`${PEERS}node_modules/@sematext/logagent/bin/logagent.js`, '--docker', '/var/run/docker.sock', '-j'],
      // Without this, logagent collects only from containers labelled LOGS_ENABLED=true.
      { LOGS_ENABLED_DEFAULT: 'true' },
      (l) => onMessage(messageOf(l, 'message')),
    );
    await sleep(3000);
    return c;
  },
};

/** One run: `containers` printers of LINES/containers lines each, through a collector to a sink. */
async function throughput(kind: CollectorKind, sink: Sink, containers: number): Promise<Run> {
  const per = Math.floor(LINES / containers);
  const prefixes = Array.from({ length: containers }, (_, i) => `${String.fromCharCode(97 + (i % 26))}${'q'.repeat(Math.floor(i / 26))}-`);
  const counter = new SequenceCounter(new Map(prefixes.map((p) => [p, per])));
  const c = await kind.start(sink, (m) => counter.add(m));
  const dpid = dockerdPid();
  const cpu0 = cpuSeconds(c.pid);
  const d0 = cpuSeconds(dpid);
  const names = prefixes.map(() => name('tp'));
  await Promise.all(names.map((n, i) => printer(n, prefixes[i]!, per)));
  const t0 = performance.now() + 1000; // the printers sleep 1 s first
  await Promise.all(names.map((n) => docker('wait', n)));
  await c.until(() => counter.unique >= counter.total, 60_000);
  // A collector that lost lines never reaches the total: give stragglers a moment.
  await sleep(counter.unique >= counter.total ? 300 : 2000);
  const elapsed = (counter.lastAt - t0) / 1000;
  const cpu = cpuSeconds(c.pid) - cpu0;
  const dcpu = cpuSeconds(dpid) - d0;
  const peak = peakRssMiB(c.pid);
  // The printers sleep 1 s before printing: that second is not run time.
  const run = stat(await Promise.all(names.map(runSeconds))).max - 1;
  await c.stop();
  await removeBenchContainers();
  return {
    linesPerSec: counter.unique / elapsed,
    mbPerSec: counter.bytes / elapsed / 1e6,
    cpuUsPerLine: (cpu / Math.max(1, counter.unique)) * 1e6,
    dockerdUsPerLine: (dcpu / Math.max(1, counter.unique)) * 1e6,
    peakRss: peak,
    runSec: run,
    lost: counter.total - counter.unique,
    duplicates: counter.duplicates,
  };
}

interface Ceiling {
  running: Stat;
  exited: Stat;
  alone: Stat;
  /** CPU µs a line of the raw reader following the running container: node's HTTP client reading each write as it comes, and a frame count. */
  apiRead: Stat;
  /** CPU µs of one 200-byte datagram sent by node on a connected socket to this host: the floor of a line to UDP syslog. */
  udpSend: Stat;
}

/**
 * What node and the kernel spend on one datagram (sent on loopback, the
 * kernel delivers it to the receiving socket in the sender's time), in a
 * process of its own: the part of a line to UDP syslog that no formatting saves.
 */
const UDP_SEND_COST = `
const dgram = require('node:dgram');
const rx = dgram.createSocket('udp4');
rx.bind(0, '127.0.0.1', () => {
  const tx = dgram.createSocket('udp4');
  tx.connect(rx.address().port, '127.0.0.1', () => {
    const buf = Buffer.alloc(200, 'x');
    const N = 200000;
    const c0 = process.cpuUsage();
    let i = 0;
    const batch = () => {
      for (let k = 0; k < 1000 && i < N; k++, i++) tx.send(buf);
      if (i < N) return setImmediate(batch);
      const c = process.cpuUsage(c0);
      console.log((c.user + c.system) / N);
      process.exit(0);
    };
    batch();
  });
});`;

async function udpSendCost(): Promise<number> {
  const { stdout } = await promisify(execFile)(process.execPath, ['-e', UDP_SEND_COST]);
  return Number(stdout.trim());
}

/** The engine's own limit: a raw reader, and the container with no reader at all. */
async function ceiling(): Promise<Ceiling> {
  const running: number[] = [];
  const exited: number[] = [];
  const alone: number[] = [];
  const udpSend: number[] = [];
  const apiRead: number[] = [];
  for (let r = 0; r < REPS; r++) {
    udpSend.push(await udpSendCost());
    const n = name('ceil');
    const id = await printer(n, 'c-', LINES);
    const live = await rawFollow(id, true);
    running.push(live.lines / ((live.endAt - live.firstAt) / 1000));
    apiRead.push(live.cpuUsPerLine);
    const done = await rawFollow(id, false);
    exited.push(done.lines / ((done.endAt - done.firstAt) / 1000));
    const quiet = name('alone');
    await printer(quiet, 'a-', LINES, 0);
    await docker('wait', quiet);
    alone.push(await runSeconds(quiet));
    await removeBenchContainers();
  }
  return { running: stat(running), exited: stat(exited), alone: stat(alone), udpSend: stat(udpSend), apiRead: stat(apiRead) };
}

function row(cells: readonly string[]): string {
  return `| ${cells.join(' | ')} |`;
}

const targets: [string, boolean | undefined, string][] = [];

async function main(): Promise<void> {
  await removeBenchContainers();
  const version = await docker('version', '--format', '{{.Server.Version}} (API {{.Server.APIVersion}})');
  print('# sidekick benchmarks');
  print();
  print(`- date: ${new Date().toISOString()}`);
  print(`- machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB`);
  print(`- Docker ${version}, storage vfs, node ${process.version}, image ${IMAGE}`);
  print(`- ${REPS} repetition(s) a figure: median (min–max); ${LINES.toLocaleString('en-US')} lines of ~100 bytes a run${QUICK ? ' (--quick)' : ''}`);
  print();

  let ceil: Ceiling | undefined;
  if (wanted('ceiling') || wanted('throughput')) {
    ceil = await ceiling();
    print('## 1. Ceiling: the engine itself');
    print();
    print(row(['what', 'lines/s']));
    print(row(['---', '---:']));
    print(row(['raw reader, container running', fmt(ceil.running)]));
    print(row(['raw reader, container exited', fmt(ceil.exited)]));
    print(row(['container run time, no reader (s)', fmt(ceil.alone, 2)]));
    print();
    print(`A 200-byte UDP datagram sent by node to this host: ${fmt(ceil.udpSend, 1)} µs of CPU (the floor of a line to UDP syslog).`);
    print(
      `The raw reader of the running container (node's HTTP client reading each write as it comes, frames counted, nothing else): ${fmt(ceil.apiRead, 1)} µs of CPU a line (dockerd writes each line on its own; sidekick rests between reads that come back to back, src/docker/read-pace.ts).`,
    );
    print();
  }

  if (wanted('throughput') || wanted('peers')) {
    const ours = [sidekickApi, sidekickFiles];
    const kinds: CollectorKind[] = wanted('peers') ? [...ours, loghose, logagent] : ours;
    const plans: [CollectorKind, Sink, number][] = [];
    for (const k of kinds) {
      if (ours.includes(k)) {
        for (const sink of SINKS.filter((x) => ONLY_SINKS === undefined || ONLY_SINKS.includes(x))) for (const n of [1, 10]) plans.push([k, sink, n]);
      } else {
        plans.push([k, 'null', 1], [k, 'null', 10]);
      }
    }
    print(`## 2–3. Throughput: sidekick and Node peers, ${LINES.toLocaleString('en-US')} numbered lines (split over the containers)`);
    print();
    print(
      row([
        'collector',
        'sink',
        'containers',
        'lines/s',
        'MB/s',
        '× ceiling',
        'CPU µs/line',
        'dockerd µs/line',
        'peak RSS MiB',
        'container run s',
        'lost',
        'twice',
      ]),
    );
    print(row(['---', '---', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:']));
    /** CPU a line of the HTTP and OTLP rows, to compare the two encodings of one flood. */
    const postCpu = new Map<string, number>();
    for (const [k, sink, n] of plans) {
      const runs: Run[] = [];
      for (let r = 0; r < REPS; r++) runs.push(await throughput(k, sink, n));
      const s = (f: (x: Run) => number): Stat => stat(runs.map(f));
      const lps = s((x) => x.linesPerSec);
      const label = { null: 'stdout', udp: 'syslog UDP', 'udp-disk': 'syslog UDP, disk buffer', http: 'HTTP ndjson', otlp: 'OTLP protobuf' }[sink];
      if (runs.every((x) => x.linesPerSec <= 0)) {
        // A collector that delivered nothing has no rate or cost per line to report.
        print(
          row([
            k.label,
            label,
            String(n),
            'not measured: it delivered no line in this harness',
            '',
            '',
            '',
            '',
            fmt(s((x) => x.peakRss)),
            fmt(
              s((x) => x.runSec),
              2,
            ),
            fmt(s((x) => x.lost)),
            '',
          ]),
        );
        continue;
      }
      print(
        row([
          k.label,
          label,
          String(n),
          fmt(lps),
          fmt(
            s((x) => x.mbPerSec),
            1,
          ),
          ceil === undefined ? 'n/a' : (lps.median / ceil.running.median).toFixed(2),
          fmt(
            s((x) => x.cpuUsPerLine),
            1,
          ),
          fmt(
            s((x) => x.dockerdUsPerLine),
            1,
          ),
          fmt(s((x) => x.peakRss)),
          fmt(
            s((x) => x.runSec),
            2,
          ),
          fmt(s((x) => x.lost)),
          fmt(s((x) => x.duplicates)),
        ]),
      );
      if (ours.includes(k) && n === 1) {
        const cpu = s((x) => x.cpuUsPerLine).median;
        const lost = s((x) => x.lost).max;
        const via = k === sidekickApi ? 'logs API' : 'json-file';
        if (sink === 'null') {
          targets.push([
            `null sink ≥ 75% of the ceiling (${via})`,
            ceil === undefined ? undefined : lps.median >= 0.75 * ceil.running.median,
            `${(lps.median / (ceil?.running.median ?? NaN)).toFixed(2)} × ceiling`,
          ]);
          // Issue 19: 3 µs from the json-file, 5 through the API (dockerd's framing is parsed too).
          const most = k === sidekickApi ? 5 : 3;
          // Through the API, beside what reading dockerd's stream as it comes costs node (measured in the same run).
          const floor = k === sidekickApi && ceil !== undefined ? ` (the raw reader, reading as lines come: ${ceil.apiRead.median.toFixed(1)} µs)` : '';
          targets.push([`≤ ${most} µs CPU a line to the null sink (${via})`, cpu <= most, `${cpu.toFixed(1)} µs${floor}`]);
          targets.push([
            `container runs ≤ 10% longer with sidekick (${via})`,
            ceil === undefined ? undefined : s((x) => x.runSec).median <= 1.1 * ceil.alone.median,
            `${s((x) => x.runSec).median.toFixed(2)} s vs ${ceil?.alone.median.toFixed(2)} s`,
          ]);
          targets.push([`0 lines lost (null sink, ${via})`, lost === 0, `${lost} lost`]);
        }
        if (sink === 'http' || sink === 'otlp') postCpu.set(`${sink} ${via}`, cpu);
        if (sink === 'otlp') targets.push([`0 lines lost to OTLP (${via})`, lost === 0, `${lost} lost`]);
        if (sink === 'udp') {
          // Issue 19: a share of the engine's ceiling measured in the same run.
          const share = k === sidekickApi ? 0.5 : 0.75;
          targets.push([
            `UDP syslog ≥ ${share} × the ceiling (${via})`,
            ceil === undefined ? undefined : lps.median >= share * ceil.running.median,
            `${(lps.median / (ceil?.running.median ?? NaN)).toFixed(2)} × ceiling (${Math.round(lps.median)} lines/s)`,
          ]);
          targets.push([`≤ 6 µs CPU a line to UDP syslog (${via})`, cpu <= 6, `${cpu.toFixed(1)} µs`]);
        }
      }
    }
    print();
    print('"lost": lines the sink never received (UDP: includes datagrams the kernel dropped). "twice": lines received more than once.');
    for (const via of ['logs API', 'json-file']) {
      const http = postCpu.get(`http ${via}`);
      const otlp = postCpu.get(`otlp ${via}`);
      if (http !== undefined && otlp !== undefined) {
        print(`OTLP protobuf against HTTP NDJSON (${via}, one container): ${(otlp / http).toFixed(2)} × the CPU a line.`);
      }
    }
    print();
  }

  if (wanted('logsource')) await logSource();
  if (wanted('latency')) await latency();
  if (wanted('jobs')) await shortJobs();
  if (wanted('scale') || wanted('stats')) await scale();
  if (wanted('young')) await youngGeneration();

  print('## Targets');
  print();
  print(row(['target', 'result', 'measured']));
  print(row(['---', '---', '---']));
  for (const [what, ok, measured] of targets) print(row([what, ok === undefined ? 'n/a' : ok ? 'PASS' : 'FAIL', measured]));
  print();
  if (!QUICK && ONLY === undefined) writeFileSync(RESULTS, out.join('\n') + '\n');
}

/**
 * Where to read logs from: the logs API (dockerd reads its json-file back and
 * frames it) or the json-file itself (/var/lib/docker/containers mounted
 * read-only). Host CPU per line, the reader's and dockerd's, for an exited
 * container's LINES lines.
 */
async function logSource(): Promise<void> {
  const api: { reader: number; dockerd: number }[] = [];
  const files: { reader: number; dockerd: number }[] = [];
  for (let r = 0; r < REPS; r++) {
    const n = name('src');
    const id = await printer(n, 's-', LINES, 0);
    await docker('wait', n);
    const logPath = await docker('inspect', '-f', '{{.LogPath}}', n);
    const dockerd = dockerdPid();

    let cpu = process.cpuUsage();
    let d0 = cpuSeconds(dockerd);
    const viaApi = await rawFollow(id, false);
    let used = process.cpuUsage(cpu);
    api.push({ reader: (used.user + used.system) / viaApi.lines, dockerd: ((cpuSeconds(dockerd) - d0) * 1e6) / viaApi.lines });

    cpu = process.cpuUsage();
    d0 = cpuSeconds(dockerd);
    let lines = 0;
    let rest = '';
    for await (const chunk of createReadStream(logPath, { encoding: 'utf8', highWaterMark: 256 * 1024 })) {
      const parts = (rest + (chunk as string)).split('\n');
      rest = parts.pop()!;
      for (const line of parts) {
        const entry = JSON.parse(line) as { log: string; stream: string; time: string };
        if (entry.log.length >= 0) lines++;
      }
    }
    used = process.cpuUsage(cpu);
    files.push({ reader: (used.user + used.system) / lines, dockerd: ((cpuSeconds(dockerd) - d0) * 1e6) / lines });
    await removeBenchContainers();
  }
  print(`## 7. Logs source: the logs API or the json-file, ${LINES.toLocaleString('en-US')} lines of an exited container`);
  print();
  print(row(['source', 'reader µs/line', 'dockerd µs/line', 'host µs/line']));
  print(row(['---', '---:', '---:', '---:']));
  for (const [label, runs] of [
    ['logs API (frames only, no JSON)', api],
    ['json-file (JSON.parse a line)', files],
  ] as const) {
    print(row([label, fmt(stat(runs.map((x) => x.reader)), 2), fmt(stat(runs.map((x) => x.dockerd)), 2), fmt(stat(runs.map((x) => x.reader + x.dockerd)), 2)]));
  }
  print();
}

/** A line every 10 ms; delay from its Docker timestamp to its arrival on sidekick's stdout. */
async function latency(): Promise<void> {
  const count = QUICK ? 500 : 2000;
  const rows: string[] = [];
  for (const kind of [sidekickApi, sidekickFiles]) {
    const delays: number[] = [];
    const c = await kind.start('null', () => undefined);
    c.child.stdout!.removeAllListeners('data');
    let rest = '';
    const n = name('lat');
    c.child.stdout!.setEncoding('utf8').on('data', (t: string) => {
      // Sub-millisecond wall clock: Docker's timestamps have nanoseconds.
      const now = (performance.timeOrigin + performance.now()) / 1000;
      const lines = (rest + t).split('\n');
      rest = lines.pop()!;
      for (const l of lines) {
        if (!l.includes(`"name":"${n}"`)) continue;
        delays.push((now - epochSeconds(messageOf(l, 'time'))) * 1000);
      }
    });
    await docker('run', '-d', '--name', n, '-l', LABEL, IMAGE, 'sh', '-c', `i=0; while [ $i -lt ${count} ]; do i=$((i+1)); echo "l-$i"; usleep 10000; done`);
    await docker('wait', n);
    await c.until(() => delays.length >= count, 10_000);
    await c.stop();
    await removeBenchContainers();
    const p50 = percentile(delays, 50);
    const p99 = percentile(delays, 99);
    rows.push(row([kind.label, String(delays.length), p50.toFixed(1), p99.toFixed(1), Math.max(...delays).toFixed(1)]));
    targets.push([`p99 latency ≤ 250 ms at 100 lines/s (${kind === sidekickApi ? 'logs API' : 'json-file'})`, p99 <= 250, `${p99.toFixed(1)} ms`]);
  }
  print('## 5. Latency: a line every 10 ms, from its Docker timestamp to sidekick’s stdout');
  print();
  print(row(['collector', 'lines', 'p50 ms', 'p99 ms', 'max ms']));
  print(row(['---', '---:', '---:', '---:', '---:']));
  for (const r of rows) print(r);
  print();
}

/**
 * The engine's limit through the API for short jobs: a client that does
 * nothing but ask for a container's logs the moment its start event arrives.
 * Counts each job whose lines it read.
 */
function minimalClient(): { readonly caught: () => number; close(): void } {
  const jobs = new Set<string>();
  const follows: Promise<unknown>[] = [];
  let rest = '';
  const filters = encodeURIComponent(JSON.stringify({ type: ['container'], event: ['start'], label: [LABEL] }));
  const req = request({ socketPath: '/var/run/docker.sock', path: `/events?filters=${filters}` }, (res) => {
    res.setEncoding('utf8').on('data', (t: string) => {
      const lines = (rest + t).split('\n');
      rest = lines.pop()!;
      for (const l of lines) {
        const id = (JSON.parse(l) as { id: string }).id;
        follows.push(
          rawFollow(id, true).then(
            (r) => r.lines > 0 && jobs.add(id),
            () => undefined,
          ),
        );
      }
    });
  });
  req.on('error', () => undefined).end();
  return { caught: () => jobs.size, close: () => req.destroy() };
}

/** Short `--rm` jobs (two lines each, started back to back): how many each reader catches. */
async function shortJobs(): Promise<void> {
  const jobs = QUICK ? 30 : 100;
  const run = async (tag: string): Promise<void> => {
    for (let i = 1; i <= jobs; i++) {
      await docker('run', '-d', '--rm', '-l', LABEL, IMAGE, 'sh', '-c', `echo ${tag}-a-${i}; echo ${tag}-b-${i}`);
    }
  };
  /** Waits until what `caught` counts has not moved for 2 s (at most 20 s). */
  const settled = async (caught: () => number): Promise<number> => {
    let last = -1;
    for (let since = Date.now(), end = Date.now() + 20_000; Date.now() < end; await sleep(200)) {
      const now = caught();
      if (now !== last) [last, since] = [now, Date.now()];
      else if (Date.now() - since >= 2000) break;
    }
    return caught();
  };
  const rows: [string, Stat][] = [];
  const results = new Map<string, number>();
  const minimal: number[] = [];
  for (let r = 0; r < REPS; r++) {
    const tag = name('job');
    const client = minimalClient();
    await sleep(300);
    await run(tag);
    minimal.push(await settled(client.caught));
    client.close();
  }
  rows.push(['minimal API client (logs asked at the start event)', stat(minimal)]);
  results.set('minimal', stat(minimal).median);
  for (const kind of [sidekickApi, sidekickDefault]) {
    const caught: number[] = [];
    for (let r = 0; r < REPS; r++) {
      const tag = name('job');
      const byJob = new Map<string, number>();
      const c = await kind.start('null', () => undefined);
      c.child.stdout!.removeAllListeners('data');
      let rest = '';
      c.child.stdout!.setEncoding('utf8').on('data', (t: string) => {
        const lines = (rest + t).split('\n');
        rest = lines.pop()!;
        for (const l of lines) {
          const m = messageOf(l, 'message');
          if (!m.startsWith(`${tag}-`)) continue;
          const job = m.slice(m.lastIndexOf('-') + 1);
          byJob.set(job, (byJob.get(job) ?? 0) + 1);
        }
      });
      await run(tag);
      caught.push(await settled(() => [...byJob.values()].filter((n) => n === 2).length));
      await c.stop();
    }
    rows.push([kind.label, stat(caught)]);
    results.set(kind.label, stat(caught).median);
  }
  await removeBenchContainers();
  print(`## 8. Short --rm jobs: ${jobs} jobs of 2 lines, started back to back; jobs whose lines arrived`);
  print();
  print(row(['reader', 'jobs caught', 'rate']));
  print(row(['---', '---:', '---:']));
  for (const [label, s] of rows) print(row([label, fmt(s), `${((100 * s.median) / jobs).toFixed(0)}%`]));
  print();
  const api = results.get(sidekickApi.label)!;
  const ceilingJobs = results.get('minimal')!;
  targets.push([
    'every short job caught with the default settings (json-files)',
    results.get(sidekickDefault.label) === jobs,
    `${results.get(sidekickDefault.label)} of ${jobs}`,
  ]);
  targets.push(['short jobs through the API ≥ 0.9 × the minimal client', api >= 0.9 * ceilingJobs, `${api} vs ${ceilingJobs} of ${jobs}`]);
}

/** 200 idle and 20 chatty containers: memory, idle CPU, attach time, descriptors; then the stats cost. */
async function scale(): Promise<void> {
  const idle = QUICK ? 40 : 200;
  const chatty = QUICK ? 4 : 20;
  const starts: Promise<string>[] = [];
  for (let i = 0; i < idle + chatty; i++) {
    const cmd = i < idle ? 'sleep 3600' : 'while true; do echo chat; usleep 100000; done';
    starts.push(docker('run', '-d', '--name', name('scale'), '-l', LABEL, IMAGE, 'sh', '-c', cmd));
    if (starts.length % 8 === 0) await Promise.all(starts.slice(-8));
  }
  await Promise.all(starts);
  const total = idle + chatty;
  const scaleRows: string[] = [];
  const statsRows: string[] = [];
  const runs: [source: 'api' | 'files', main: string, label: string, env: Record<string, string>][] = [
    ['api', MAIN, 'sidekick (logs API), dist/ (`npm start`)', IMAGE_ENV],
    ['files', MAIN, 'sidekick (json-file), dist/ (`npm start`)', IMAGE_ENV],
    ['api', BUNDLE, 'sidekick (logs API), the bundle (image, npm package)', IMAGE_ENV],
    ['files', BUNDLE, 'sidekick (json-file), the bundle (image, npm package)', IMAGE_ENV],
    ['files', BUNDLE, 'sidekick (json-file), the bundle, without glibc’s malloc settings', { NODE_OPTIONS: IMAGE_NODE_OPTIONS }],
    [
      'api',
      MAIN,
      `sidekick (logs API), dist/, with ${SMALL_YOUNG_GENERATION}`,
      { ...IMAGE_ENV, NODE_OPTIONS: `${IMAGE_NODE_OPTIONS} ${SMALL_YOUNG_GENERATION}` },
    ],
  ];
  for (const [source, main, label, env] of runs) {
    const m = await watchMany(total, source, main, env);
    scaleRows.push(
      row([
        label,
        m.attachSec.toFixed(1),
        `${m.rss.toFixed(0)} (${m.rssMax.toFixed(0)})`,
        m.anon.toFixed(0),
        m.file.toFixed(0),
        m.cpuPct.toFixed(1),
        String(m.fds),
        String(m.sockets),
      ]),
    );
    // A round: every container sampled once (each samples again an interval after its last answer).
    statsRows.push(
      row([label, m.callsPerMin.toFixed(0), m.callMs.toFixed(0), ((total * 60) / m.callsPerMin).toFixed(1), m.cpuPct.toFixed(1), m.dockerdPct.toFixed(1)]),
    );
    // The target is for what is deployed (the image, the systemd unit), not for a development run.
    if (main === BUNDLE && env === IMAGE_ENV)
      targets.push([`RSS ≤ 64 MiB with ${total} containers watched (mean of 30 s): ${label}`, m.rss <= 64, `${m.rss.toFixed(0)} MiB`]);
  }
  await removeBenchContainers();
  const floor = await bareNode();
  print(`## 4. Scale: ${idle} idle and ${chatty} chatty containers (a line every 100 ms each)`);
  print();
  print(
    row([
      'collector',
      'all streams attached after s',
      'RSS MiB: mean of 30 s (max)',
      'anonymous MiB (mean)',
      'file-backed MiB (mean)',
      'CPU % (logs + stats)',
      'open fds',
      'sockets (Docker connections)',
    ]),
  );
  print(row(['---', '---:', '---:', '---:', '---:', '---:', '---:', '---:']));
  for (const r of scaleRows) print(r);
  print(row(['`node` itself, an empty timer loop (the floor)', '', floor.rss.toFixed(0), floor.anon.toFixed(0), floor.file.toFixed(0), '', '', '']));
  print();
  print('File-backed pages are the `node` executable’s, shared by every Node process on the host.');
  print();
  print(`## 6. Stats cost: ${total} containers at the default 10 s interval`);
  print();
  print(row(['collector', 'stats calls/min', 'ms a call (mean)', 'a round (each container once), s', 'sidekick CPU % (all work)', 'dockerd CPU %']));
  print(row(['---', '---:', '---:', '---:', '---:', '---:']));
  for (const r of statsRows) print(r);
  print();
}

/** The semi-space sizes (MiB) measured: V8's own (16 on 64-bit hosts) and smaller ones. */
const SEMI_SPACES = [1, 2, 4, 8, 16];

/**
 * V8's young generation against the CPU a line and memory: a flood from the
 * json-file to stdout and sidekick at rest with no container, for each
 * `--max-semi-space-size`. A small young generation keeps memory low while
 * quiet; under a flood, records that wait in a buffer survive more scavenges
 * and are copied and promoted.
 */
async function youngGeneration(): Promise<void> {
  print('## 9. Young generation: `--max-semi-space-size` against the CPU a line and the resident size');
  print();
  print(row(['semi-space MiB', 'flood: lines/s', 'flood: CPU µs/line', 'flood: peak RSS MiB', 'idle, no container: RSS MiB', 'idle: anonymous MiB']));
  print(row(['---:', '---:', '---:', '---:', '---:', '---:']));
  const cpuBySemi = new Map<number, number>();
  for (const semi of SEMI_SPACES) {
    const flag = `--max-semi-space-size=${semi}`;
    const kind = sidekickReading('files', flag);
    const runs: Run[] = [];
    for (let r = 0; r < REPS; r++) runs.push(await throughput(kind, 'null', 1));
    const s = (f: (x: Run) => number): Stat => stat(runs.map(f));
    const idle = await idleResident(BUNDLE, { ...IMAGE_ENV, NODE_OPTIONS: `${IMAGE_NODE_OPTIONS} ${flag}` });
    cpuBySemi.set(semi, s((x) => x.cpuUsPerLine).median);
    print(
      row([
        String(semi),
        fmt(s((x) => x.linesPerSec)),
        fmt(
          s((x) => x.cpuUsPerLine),
          1,
        ),
        fmt(s((x) => x.peakRss)),
        idle.rss.toFixed(0),
        idle.anon.toFixed(0),
      ]),
    );
  }
  print();
  const own = cpuBySemi.get(16);
  if (own !== undefined) {
    for (const semi of SEMI_SPACES.filter((x) => x !== 16)) {
      print(`- ${semi} MiB: ${((cpuBySemi.get(semi) ?? NaN) / own).toFixed(2)} × the CPU a line of V8's own 16 MiB.`);
    }
  }
  const idle = await idleResident(BUNDLE, IMAGE_ENV);
  targets.push(['RSS ≤ 48 MiB idle with no container: the bundle and the image’s settings', idle.rss <= 48, `${idle.rss.toFixed(0)} MiB`]);
  print();
}

/** sidekick with no container to watch, 10 s after it started collecting: what it keeps resident at rest. */
async function idleResident(main: string, env: Record<string, string>): Promise<{ rss: number; anon: number; file: number }> {
  const c = new Collector(
    process.execPath,
    [main],
    { SIDEKICK_SINKS: 'stdout://', SIDEKICK_METRICS_ADDR: '127.0.0.1:0', SIDEKICK_LOG_LEVEL: 'info', ...env },
    () => undefined,
  );
  await c.until(() => c.stderr.includes('sidekick is collecting'), 20_000);
  await sleep(10_000);
  const m = residentMiB(c.pid);
  await c.stop();
  return m;
}

/** What `node` itself keeps resident, doing nothing: the part of every figure no JavaScript can save. */
async function bareNode(): Promise<{ rss: number; anon: number; file: number }> {
  const c = new Collector(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], {}, () => undefined);
  await sleep(2000);
  const m = residentMiB(c.pid);
  await c.stop();
  return m;
}

/** sidekick watching the `total` containers running now: attach time, then resources at rest. */
async function watchMany(
  total: number,
  source: 'api' | 'files',
  main: string,
  env: Record<string, string>,
): Promise<{
  attachSec: number;
  /** Means of a reading a second over 30 s; rssMax the highest reading. */
  rss: number;
  rssMax: number;
  anon: number;
  file: number;
  fds: number;
  sockets: number;
  cpuPct: number;
  dockerdPct: number;
  callsPerMin: number;
  callMs: number;
}> {
  const metricsPort = 19324;
  const t0 = performance.now();
  const c = new Collector(
    process.execPath,
    [main],
    {
      SIDEKICK_SINKS: 'stdout://',
      SIDEKICK_METRICS_ADDR: `127.0.0.1:${metricsPort}`,
      SIDEKICK_STATS_INTERVAL: '10s',
      SIDEKICK_LOGS_SOURCE: source,
      SIDEKICK_LOG_LEVEL: 'info',
      ...env,
    },
    () => undefined,
  );
  const following = async (): Promise<number> => {
    try {
      const s = (await (await fetch(`http://127.0.0.1:${metricsPort}/status`)).json()) as { containers: { state: string }[] };
      return s.containers.filter((x) => x.state === 'following').length;
    } catch {
      return 0;
    }
  };
  while ((await following()) < total && performance.now() - t0 < 120_000) await sleep(100);
  const attachSec = (performance.now() - t0) / 1000;
  await sleep(15_000);
  const fds = openFds(c.pid);
  const cpu0 = cpuSeconds(c.pid);
  const d0 = cpuSeconds(dockerdPid());
  const window = 30;
  const records0 = await statsRecords(metricsPort);
  const calls0 = await statsCalls(metricsPort);
  // Resident memory moves by several MiB as V8's heap grows and is collected:
  // one reading would be as good or as bad as its moment. A reading a second.
  const samples: ReturnType<typeof residentMiB>[] = [];
  for (let s = 0; s < window; s++) {
    samples.push(residentMiB(c.pid));
    await sleep(1000);
  }
  const mean = (f: (m: ReturnType<typeof residentMiB>) => number): number => samples.reduce((sum, m) => sum + f(m), 0) / samples.length;
  const rss = mean((m) => m.rss);
  const rssMax = Math.max(...samples.map((m) => m.rss));
  const anon = mean((m) => m.anon);
  const file = mean((m) => m.file);
  const cpuPct = ((cpuSeconds(c.pid) - cpu0) / window) * 100;
  const dockerdPct = ((cpuSeconds(dockerdPid()) - d0) / window) * 100;
  const callsPerMin = ((await statsRecords(metricsPort)) - records0) * (60 / window);
  const calls1 = await statsCalls(metricsPort);
  const callMs = ((calls1.seconds - calls0.seconds) / Math.max(1, calls1.count - calls0.count)) * 1000;
  await c.stop();
  return { attachSec, rss, rssMax, anon, file, fds: fds.fds, sockets: fds.sockets, cpuPct, dockerdPct, callsPerMin, callMs };
}

/** The stats calls timed so far, and their total time (sidekick_stats_call_seconds). */
async function statsCalls(port: number): Promise<{ count: number; seconds: number }> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const of = (suffix: string): number => Number(new RegExp(`^sidekick_stats_call_seconds_${suffix} (\\S+)`, 'm').exec(text)?.[1] ?? 0);
  return { count: of('count'), seconds: of('sum') };
}

async function statsRecords(port: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const m = /sidekick_records_total\{type="stats"\} (\d+)/.exec(text);
  return m === null ? 0 : Number(m[1]);
}

main().catch(async (err: Error) => {
  process.stderr.write(`bench failed: ${err.stack ?? err.message}\n`);
  await removeBenchContainers().catch(() => undefined);
  process.exit(1);
});
