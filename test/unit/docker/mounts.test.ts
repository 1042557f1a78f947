// VolumeOwners: which container a tailed file belongs to.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { VolumeOwners } from '../../../src/docker/mounts.js';
import { containerMeta } from '../../../src/pipeline/record.js';

const app = containerMeta('a'.repeat(64), '/app', 'img', {});
const reader = containerMeta('b'.repeat(64), '/reader', 'img', {});
const web = containerMeta('c'.repeat(64), '/web', 'img', {});
const appVolume = { Name: 'applogs', Source: '/var/lib/docker/volumes/applogs/_data', Destination: '/var/log/app' };

describe('VolumeOwners', () => {
  it('on the host: the container whose mount source holds the path, the deepest one winning', () => {
    const owners = new VolumeOwners();
    owners.set(app, [appVolume]);
    owners.set(web, [{ Source: '/srv', Destination: '/srv' }, { Source: '/srv/web/logs', Destination: '/logs' }]);
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
});
