// The deployment files are valid for their tools: Kubernetes manifests against
// the Kubernetes schemas, compose files by docker-compose itself, the systemd
// unit by systemd-analyze, the Prometheus configs by promtool.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, it } from 'node:test';
import { DaemonSet } from 'kubernetes-models/apps/v1';
import { Namespace, Service, ServiceAccount } from 'kubernetes-models/v1';
import { parse, parseAllDocuments } from 'yaml';

const exec = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const read = (path: string): string => readFileSync(join(ROOT, path), 'utf8');

type Manifest = { kind: string; apiVersion: string; metadata: { name: string }; spec?: unknown };

const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  'v1/Namespace': Namespace,
  'v1/ServiceAccount': ServiceAccount,
  'v1/Service': Service,
  'apps/v1/DaemonSet': DaemonSet,
};

describe('deployment files', () => {
  it('kubernetes: every manifest is valid against its schema; one sidekick per node, probed, bounded, without API rights', () => {
    const docs = parseAllDocuments(read('deploy/kubernetes/sidekick.yaml')).map((d) => d.toJSON() as Manifest);
    assert.deepEqual(docs.map((d) => d.kind).sort(), ['DaemonSet', 'Namespace', 'Service', 'ServiceAccount']);
    for (const doc of docs) {
      const Model = MODELS[`${doc.apiVersion}/${doc.kind}`];
      assert.ok(Model, `${doc.apiVersion} ${doc.kind} is checked`);
      new Model(doc as never).validate();
    }
    const ds = docs.find((d) => d.kind === 'DaemonSet') as unknown as {
      spec: { template: { spec: Record<string, unknown> & { containers: Record<string, unknown>[] } } };
    };
    const pod = ds.spec.template.spec;
    assert.deepEqual(pod['tolerations'], [{ operator: 'Exists' }]);
    assert.equal(pod['automountServiceAccountToken'], false);
    const c = pod.containers[0]! as {
      livenessProbe: { httpGet: { path: string } };
      readinessProbe: { httpGet: { path: string } };
      resources: { requests: object; limits: object };
    };
    assert.equal(c.livenessProbe.httpGet.path, '/healthz');
    assert.equal(c.readinessProbe.httpGet.path, '/readyz');
    assert.ok(c.resources.requests && c.resources.limits);
    const sa = docs.find((d) => d.kind === 'ServiceAccount') as unknown as { automountServiceAccountToken: boolean };
    assert.equal(sa.automountServiceAccountToken, false);
    const svc = docs.find((d) => d.kind === 'Service') as unknown as { spec: { clusterIP: string } };
    assert.equal(svc.spec.clusterIP, 'None', 'headless');
  });

  // The stack is deployed for real in swarm.test.ts: Swarm's schema is not docker-compose's.
  it('compose: docker-compose.yml and the swarm stack (mode: global, root without capabilities, no DOCKER_GID) pass docker-compose config', async () => {
    await exec('docker-compose', ['-f', join(ROOT, 'docker-compose.yml'), 'config', '-q']);
    const { DOCKER_GID: _, ...noGid } = process.env;
    await exec('docker-compose', ['-f', join(ROOT, 'deploy/swarm/sidekick-stack.yml'), 'config', '-q'], { env: noGid });
    const stack = parse(read('deploy/swarm/sidekick-stack.yml')) as {
      services: { sidekick: { deploy: { mode: string }; user: string; cap_drop: string[]; read_only: boolean; volumes: unknown[]; group_add?: unknown } };
    };
    const sidekick = stack.services.sidekick;
    assert.equal(sidekick.deploy.mode, 'global');
    assert.equal(sidekick.user, '0:0');
    assert.deepEqual(sidekick.cap_drop, ['ALL']);
    assert.equal(sidekick.read_only, true);
    assert.ok(sidekick.volumes.includes('/var/lib/docker/containers:/var/lib/docker/containers:ro'));
    assert.equal(sidekick.group_add, undefined, 'a stack file has no group_add');
    // The json-files are read: root without capabilities, the folder mounted read-only.
    const compose = parse(read('docker-compose.yml')) as { services: { sidekick: { user: string; cap_drop: string[]; volumes: string[] } } };
    assert.equal(compose.services.sidekick.user, '0:0');
    assert.deepEqual(compose.services.sidekick.cap_drop, ['ALL']);
    assert.ok(compose.services.sidekick.volumes.includes('/var/lib/docker/containers:/var/lib/docker/containers:ro'));
  });

  it('systemd: systemd-analyze verify has nothing to say about the unit', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sidekick-unit-'));
    try {
      // The unit runs the installed package; verify wants an executable there, so point it at node.
      const unit = read('deploy/systemd/sidekick.service').replace(/^ExecStart=.*$/m, `ExecStart=${process.execPath}`);
      writeFileSync(join(dir, 'sidekick.service'), unit);
      const { stdout, stderr } = await exec('systemd-analyze', ['verify', join(dir, 'sidekick.service')]);
      assert.equal(stdout + stderr, '');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('prometheus: promtool accepts the static, Docker and Kubernetes discovery configs', async () => {
    for (const file of ['static.yml', 'docker-sd.yml']) {
      await exec('promtool', ['check', 'config', join(ROOT, 'deploy/prometheus', file)]);
    }
    // Debian's promtool is built without Kubernetes discovery: its relabelling is
    // checked with the discovery swapped for static targets, the discovery by shape.
    const k8s = parse(read('deploy/prometheus/kubernetes-sd.yml')) as {
      scrape_configs: (Record<string, unknown> & { kubernetes_sd_configs?: { role: string; namespaces: { names: string[] } }[] })[];
    };
    const sd = k8s.scrape_configs[0]!.kubernetes_sd_configs!;
    assert.deepEqual(sd, [{ role: 'pod', namespaces: { names: ['sidekick'] } }]);
    const dir = mkdtempSync(join(tmpdir(), 'sidekick-prom-'));
    try {
      const { kubernetes_sd_configs: _, ...rest } = k8s.scrape_configs[0]!;
      const swapped = { ...k8s, scrape_configs: [{ ...rest, static_configs: [{ targets: ['node-1:9324'] }] }] };
      writeFileSync(join(dir, 'k8s.yml'), JSON.stringify(swapped));
      await exec('promtool', ['check', 'config', join(dir, 'k8s.yml')]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
