import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ContainerInspectInfo } from 'dockerode';
import { containerMeta } from '../../../../src/core/record.js';
import { inspectRecord, metaFromInspect, redactEnv } from '../../../../src/sources/docker/inspect.js';

const ID = '8d0f2e3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0';

/** The parts of `docker inspect` these functions read, plus some they must leave alone. */
function inspectInfo(overrides: Record<string, unknown> = {}): ContainerInspectInfo {
  return {
    Id: ID,
    Name: '/shop-api-1',
    Image: 'sha256:0d9f5b0e8a6c4e2b1f3a5c7e9b1d3f5a7c9e1b3d5f7a9c1e3b5d7f9a1c3e5b7d',
    State: { Status: 'running', Running: true, Pid: 4242 },
    HostConfig: { NetworkMode: 'bridge' },
    Config: {
      Hostname: '8d0f2e3c4b5a',
      Image: 'registry.example.com/shop/api:2.3.1',
      Env: ['PATH=/usr/local/bin:/usr/bin', 'DB_PASSWORD=hunter2', 'EMPTY=', 'FLAG_ONLY', 'URL=postgres://u:p@db/x?a=b'],
      Labels: {
        'com.docker.compose.project': 'shop',
        'com.docker.compose.service': 'api',
        'org.opencontainers.image.version': '2.3.1',
      },
    },
    ...overrides,
  } as unknown as ContainerInspectInfo;
}

describe('redactEnv', () => {
  it('replaces every Env value by "<redacted>", keeping the names', () => {
    const out = redactEnv(inspectInfo(), () => true);
    assert.deepEqual(out.Config.Env, ['PATH=<redacted>', 'DB_PASSWORD=<redacted>', 'EMPTY=<redacted>', 'FLAG_ONLY', 'URL=<redacted>']);
    assert.ok(!JSON.stringify(out).includes('hunter2'));
  });

  it('keeps everything else as it was', () => {
    const info = inspectInfo();
    const out = redactEnv(info, () => true) as unknown as Record<string, unknown>;
    const { Config: outConfig, ...outRest } = out as { Config: Record<string, unknown> };
    const { Config: inConfig, ...inRest } = info as unknown as { Config: Record<string, unknown> };
    assert.deepEqual(outRest, inRest);
    const { Env: _outEnv, ...outConfigRest } = outConfig;
    const { Env: _inEnv, ...inConfigRest } = inConfig;
    assert.deepEqual(outConfigRest, inConfigRest);
    assert.ok(Array.isArray(_outEnv) && Array.isArray(_inEnv));
  });

  it('does not change its input', () => {
    const info = inspectInfo();
    const before = structuredClone(info);
    const out = redactEnv(info, () => true);
    assert.deepEqual(info, before);
    assert.notEqual(out, info);
    assert.notEqual(out.Config, info.Config);
  });

  it('leaves an inspect without Env alone', () => {
    const noEnv = inspectInfo({ Config: { Image: 'alpine', Labels: {} } });
    assert.equal(
      redactEnv(noEnv, () => true),
      noEnv,
    );
    assert.deepEqual(
      redactEnv(noEnv, () => true),
      inspectInfo({ Config: { Image: 'alpine', Labels: {} } }),
    );
    const noConfig = inspectInfo({ Config: undefined });
    assert.equal(
      redactEnv(noConfig, () => true),
      noConfig,
    );
    const nullEnv = inspectInfo({ Config: { Image: 'alpine', Env: null } });
    assert.equal(
      redactEnv(nullEnv, () => true),
      nullEnv,
    );
  });

  it('handles an empty Env', () => {
    assert.deepEqual(redactEnv(inspectInfo({ Config: { Image: 'alpine', Env: [] } }), () => true).Config.Env, []);
  });
});

describe('metaFromInspect', () => {
  it('takes the id, the name without "/", Config.Image, the labels and compose', () => {
    const info = inspectInfo();
    assert.deepEqual(metaFromInspect(info), {
      id: ID,
      name: 'shop-api-1',
      image: 'registry.example.com/shop/api:2.3.1',
      labels: info.Config.Labels,
      compose: { project: 'shop', service: 'api' },
    });
  });

  it('falls back to the image id without Config, and to no labels', () => {
    const info = inspectInfo({ Config: undefined });
    assert.deepEqual(metaFromInspect(info), { id: ID, name: 'shop-api-1', image: info.Image, labels: {} });
  });

  it('has no compose without both compose labels', () => {
    const meta = metaFromInspect(inspectInfo({ Config: { Image: 'alpine', Labels: { 'com.docker.compose.project': 'shop' } } }));
    assert.equal('compose' in meta, false);
    const nullLabels = metaFromInspect(inspectInfo({ Config: { Image: 'alpine', Labels: null } }));
    assert.deepEqual(nullLabels.labels, {});
  });
});

describe('inspectRecord', () => {
  it('builds an inspect record with the Env redacted', () => {
    const info = inspectInfo();
    const meta = containerMeta(ID, info.Name, 'img', {});
    const r = inspectRecord(info, 'docker-01', meta, () => true);
    assert.equal(r.type, 'inspect');
    assert.equal(r.host, 'docker-01');
    assert.equal(r.container, meta);
    assert.match(r.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
    assert.deepEqual(
      r.inspect,
      redactEnv(info, () => true),
    );
    assert.ok(!JSON.stringify(r.inspect).includes('hunter2'));
  });
});
