// VolumeOwners: which container a tailed file belongs to.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ContainerSummary } from '../../../../src/docker/client.js';
import { VolumeOwners } from '../../../../src/sources/docker/owners.js';
import { containerMeta } from '../../../../src/core/record.js';

const app = containerMeta('a'.repeat(64), '/app', 'img', {});
const reader = containerMeta('b'.repeat(64), '/reader', 'img', {});
const web = containerMeta('c'.repeat(64), '/web', 'img', {});
const appVolume = { Name: 'applogs', Source: '/var/lib/docker/volumes/applogs/_data', Destination: '/var/log/app' };

describe('VolumeOwners', () => {
  it('on the host: the container whose mount source holds the path, the deepest one winning', () => {
    const owners = new VolumeOwners();
    owners.set(app, [appVolume]);
    owners.set(web, [
      { Source: '/srv', Destination: '/srv' },
      { Source: '/srv/web/logs', Destination: '/logs' },
    ]);
    assert.equal(owners.ownerOf('/var/lib/docker/volumes/applogs/_data/access.log')?.name, 'app');
    assert.equal(owners.ownerOf('/srv/web/logs/a.log')?.name, 'web');
    assert.equal(owners.ownerOf('/srv/other.log')?.name, 'web');
    assert.equal(owners.ownerOf('/var/lib/docker/volumes/applogs/_data2/x.log'), undefined, 'a prefix of a name is not a folder');
    assert.equal(owners.ownerOf('/tmp/x.log'), undefined);
  });

  it('in a container with --volumes-from: through its own mount to the container that mounts the same volume there', () => {
    const owners = new VolumeOwners();
    owners.set(reader, [{ ...appVolume, Destination: '/elsewhere' }]);
    owners.set(app, [appVolume]);
    owners.setOwn([appVolume]);
    assert.equal(owners.ownerOf('/var/log/app/access.log')?.name, 'app');
  });

  it('forgets a removed container, and says when answers may have changed', () => {
    const owners = new VolumeOwners();
    const v0 = owners.version;
    owners.set(app, [appVolume]);
    assert.ok(owners.version > v0);
    owners.delete(app.id);
    assert.equal(owners.ownerOf('/var/lib/docker/volumes/applogs/_data/access.log'), undefined);
  });

  it('asks Docker for every container when a path has no known owner yet, and never names itself', async () => {
    let asked = 0;
    // sidekick itself is `reader` here: it mounts the volume where app does.
    const owners = new VolumeOwners('b'.repeat(12), async (): Promise<ContainerSummary[]> => {
      asked++;
      return [
        { Id: reader.id, Names: ['/reader'], State: 'running', Image: 'img', Labels: {}, Mounts: [appVolume] },
        { Id: app.id, Names: ['/app'], State: 'exited', Image: 'img', Labels: { team: 'x' }, Mounts: [appVolume] },
      ];
    });
    owners.setOwn([appVolume]);
    const owner = await owners.resolve('/var/log/app/a.log');
    assert.equal(owner?.name, 'app');
    assert.deepEqual(owner?.labels, { team: 'x' });
    assert.equal(await owners.resolve('/elsewhere/x.log'), undefined);
    assert.equal(asked, 1, 'asked at most once a second');
  });
});
