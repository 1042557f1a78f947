// dockerode without its SSH and gRPC stacks: loaded after lean.ts, it pulls
// in neither, and still talks to the daemon.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const LEAN = fileURLToPath(new URL('../../../src/docker/lean.js', import.meta.url));

describe('lean dockerode', () => {
  it('loads dockerode without ssh2, @grpc or protobufjs, and stubs what needed them', async () => {
    const script = `
      await import(${JSON.stringify(LEAN)});
      const { default: Docker } = await import('dockerode');
      const { createRequire } = await import('node:module');
      const require = createRequire(${JSON.stringify(LEAN)});
      const heavy = Object.keys(require.cache).filter((k) => /node_modules\\/(ssh2|@grpc|protobufjs)\\//.test(k));
      const docker = new Docker({ socketPath: '/nonexistent.sock' });
      let ssh = '';
      try { require('docker-modem/lib/ssh.js')({}); } catch (err) { ssh = err.message; }
      console.log(JSON.stringify({ heavy, ok: typeof docker.listContainers, ssh }));
    `;
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script]);
    const out = JSON.parse(stdout) as { heavy: string[]; ok: string; ssh: string };
    assert.deepEqual(out.heavy, []);
    assert.equal(out.ok, 'function');
    assert.equal(out.ssh, 'ssh:// DOCKER_HOST: not available in sidekick');
  });
});
