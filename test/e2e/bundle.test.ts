// The bundle the container image runs (scripts/bundle.mjs), run as a process
// against the real engine: the files it loads only when a sink needs them
// (undici for HTTP and OTLP, the OTLP encoders) load and ship.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, describe, it } from 'node:test';
import { removeTestContainers, runContainer, Sidekick, uniqueName } from './harness.js';

const exec = promisify(execFile);

describe('the bundle', () => {
  after(removeTestContainers);

  it('ships to an HTTP and an OTLP sink, whose code it loads only for them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sidekick-bundle-'));
    const posts: { path: string; type: string; body: Buffer }[] = [];
    const server: Server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        posts.push({ path: req.url ?? '', type: String(req.headers['content-type']), body: Buffer.concat(chunks) });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const app = uniqueName('bundled');
    await exec(process.execPath, [fileURLToPath(new URL('../../../scripts/bundle.mjs', import.meta.url)), dir], {
      cwd: fileURLToPath(new URL('../../../', import.meta.url)),
    });
    const sk = new Sidekick(
      {
        SIDEKICK_SINKS: `http://127.0.0.1:${port}/ingest?flush=100ms,otlp+http://127.0.0.1:${port}/otlp?flush=100ms`,
        SIDEKICK_INCLUDE: `name:${app}`,
        SIDEKICK_TYPES: 'log',
      },
      [],
      { uid: 0, gid: 0, script: join(dir, 'sidekick.mjs') },
    );
    try {
      await sk.until(() => sk.stderr.includes('sidekick is collecting'), 20_000, 'collecting');
      await runContainer(app, [], 'echo bundled-hello');
      const has = (path: string): boolean => posts.some((p) => p.path === path && p.body.includes('bundled-hello'));
      await sk.until(() => has('/ingest') && has('/otlp/v1/logs'), 20_000, 'the line at both sinks');
      const otlp = posts.find((p) => p.path === '/otlp/v1/logs')!;
      assert.equal(otlp.type, 'application/x-protobuf');
      const ndjson = posts.find((p) => p.path === '/ingest' && p.body.includes('bundled-hello'))!;
      const record = JSON.parse(ndjson.body.toString('utf8').trim().split('\n').at(-1)!) as { message: string; container: { name: string } };
      assert.deepEqual([record.message, record.container.name], ['bundled-hello', app]);
      assert.doesNotMatch(sk.stderr, /"level":50/, 'no error logged');
    } finally {
      await sk.stop();
      server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
