// A real Prometheus (Debian's package) on loopback, scraping sidekick every
// second, queried through its own HTTP API.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './rsyslog.js';
import { terminate, track } from './harness.js';

export interface Sample {
  readonly metric: Record<string, string>;
  readonly value: number;
}

export class Prometheus {
  readonly dir = mkdtempSync(join(tmpdir(), 'sidekick-prometheus-'));
  port = 0;
  private child: ChildProcess | undefined;
  private stderr = '';

  async start(target: string): Promise<void> {
    this.port = await freePort();
    const conf = join(this.dir, 'prometheus.yml');
    writeFileSync(
      conf,
      `global:\n  scrape_interval: 1s\n  scrape_timeout: 900ms\nscrape_configs:\n  - job_name: sidekick\n    static_configs:\n      - targets: ['${target}']\n`,
    );
    const child = track(
      spawn('prometheus', [`--config.file=${conf}`, `--storage.tsdb.path=${join(this.dir, 'data')}`, `--web.listen-address=127.0.0.1:${this.port}`], {
        stdio: ['ignore', 'ignore', 'pipe'],
      }),
    );
    child.stderr!.setEncoding('utf8').on('data', (t: string) => {
      this.stderr = (this.stderr + t).slice(-8000);
    });
    this.child = child;
    const end = Date.now() + 30_000;
    for (;;) {
      const ok = await fetch(`http://127.0.0.1:${this.port}/-/ready`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) return;
      if (Date.now() > end || child.exitCode !== null) throw new Error(`prometheus did not start: ${this.stderr}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** An instant query through Prometheus' HTTP API. */
  async query(q: string): Promise<Sample[]> {
    const res = await fetch(`http://127.0.0.1:${this.port}/api/v1/query?query=${encodeURIComponent(q)}`);
    const body = (await res.json()) as {
      status: string;
      data: { result: { metric: Record<string, string>; value: [number, string] }[] };
    };
    if (body.status !== 'success') throw new Error(`query ${q} failed: ${JSON.stringify(body)}`);
    return body.data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    await terminate(child);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
