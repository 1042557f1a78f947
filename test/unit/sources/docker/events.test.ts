import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DockerEvent } from '../../../../src/docker/events.js';
import { containerMeta, serialize } from '../../../../src/core/record.js';
import { eventRecord, metaFromEvent } from '../../../../src/sources/docker/events.js';

const ID = '3a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f6071829';

const event: DockerEvent = {
  type: 'container',
  action: 'die',
  actorId: ID,
  attributes: { name: 'worker-2', image: 'busybox:1.36', exitCode: '137', 'com.example.team': 'ops' },
  scope: 'local',
  timeNanos: '1700000000123456789',
};

describe('eventRecord', () => {
  it("builds an event record timed by Docker's nanoseconds", () => {
    const r = eventRecord(event, 'docker-01', undefined);
    assert.deepEqual(r, {
      type: 'event',
      time: '2023-11-14T22:13:20.123456789Z',
      host: 'docker-01',
      object: 'container',
      action: 'die',
      actor: { id: ID, attributes: event.attributes },
      scope: 'local',
    });
    assert.equal('container' in r, false);
  });

  it('tags it with the container when there is one', () => {
    const meta = containerMeta(ID, '/worker-2', 'busybox:1.36', {});
    const r = eventRecord(event, 'docker-01', meta);
    assert.equal(r.container, meta);
    const json = JSON.parse(serialize(r)) as Record<string, unknown>;
    assert.deepEqual(json['container'], { id: ID, name: 'worker-2', image: 'busybox:1.36', labels: {} });
  });
});

describe('metaFromEvent', () => {
  it('takes name and image from the attributes, and no labels', () => {
    assert.deepEqual(metaFromEvent(event), { id: ID, name: 'worker-2', image: 'busybox:1.36', labels: {} });
  });

  it('copes with an event without those attributes', () => {
    assert.deepEqual(metaFromEvent({ ...event, attributes: {} }), { id: ID, name: '', image: '', labels: {} });
  });
});
