// The Resource of a container's records: the semantic conventions' names,
// the image split into name and tag, service.name, and the chosen fields.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { containerMeta } from '../../../../src/core/record.js';
import { containerAttributes, hostAttributes, imageNameAndTag } from '../../../../src/sinks/otlp/resource.js';

describe('OTLP resource', () => {
  it('splits an image reference into its name and tag (a registry port is no tag, a digest is dropped)', () => {
    assert.deepEqual(imageNameAndTag('nginx:1.25'), { name: 'nginx', tag: '1.25' });
    assert.deepEqual(imageNameAndTag('nginx'), { name: 'nginx' });
    assert.deepEqual(imageNameAndTag('registry:5000/team/app'), { name: 'registry:5000/team/app' });
    assert.deepEqual(imageNameAndTag('registry:5000/team/app:2@sha256:abc'), { name: 'registry:5000/team/app', tag: '2' });
    assert.deepEqual(imageNameAndTag('app@sha256:abc'), { name: 'app' });
  });

  it("names a container's attributes as the conventions do; service.name is the Compose service, else the name", () => {
    const id = 'a'.repeat(64);
    const plain = containerAttributes(containerMeta(id, '/web-1', 'registry:5000/web:3', {}), 'host-a');
    assert.deepEqual(Object.fromEntries(plain), {
      'service.name': 'web-1',
      'container.id': id,
      'container.name': 'web-1',
      'container.image.name': 'registry:5000/web',
      'container.image.tags': ['3'],
      'container.runtime': 'docker',
      'container.runtime.name': 'docker',
      'host.name': 'host-a',
    });
    const composed = containerMeta(id, '/shop-web-1', 'web', { 'com.docker.compose.project': 'shop', 'com.docker.compose.service': 'web' });
    assert.equal(Object.fromEntries(containerAttributes(composed, 'h'))['service.name'], 'web');
  });

  it('adds the chosen fields after them; a field named as an attribute replaces it (a Resource repeats no key)', () => {
    const meta = { ...containerMeta('b'.repeat(64), '/api', 'api:1', {}), fields: { team: 'blue', 'host.name': 'edge-7' } };
    const attributes = containerAttributes(meta, 'h');
    const keys = attributes.map(([key]) => key);
    assert.equal(new Set(keys).size, keys.length, 'no key twice');
    assert.deepEqual(attributes.slice(-2), [
      ['team', 'blue'],
      ['host.name', 'edge-7'],
    ]);
    assert.deepEqual(hostAttributes('h', { env: 'prod' }), [
      ['host.name', 'h'],
      ['env', 'prod'],
    ]);
  });
});
