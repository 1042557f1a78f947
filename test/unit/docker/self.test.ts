import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { detectSelfId, idFromCgroup, idFromMountinfo } from '../../../src/docker/self.js';

const SELF = '4b825dc642cb6eb9a060e54bf8d69288fbee4904c6d5e5a0e9c8f47c59d1b7e2';
const OTHER = '9f2a1c3e5b7d9f1a3c5e7b9d1f3a5c7e9b1d3f5a7c9e1b3d5f7a9c1e3b5d7f9a';

/** /proc/self/mountinfo inside a container (overlay2, a bind-mounted volume). */
const containerMountinfo = [
  `1432 1180 0:312 / / rw,relatime master:612 - overlay overlay rw,lowerdir=/var/lib/docker/overlay2/l/ABC:/var/lib/docker/overlay2/l/DEF,upperdir=/var/lib/docker/overlay2/9a8b/diff,workdir=/var/lib/docker/overlay2/9a8b/work`,
  `1433 1432 0:315 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw`,
  `1434 1432 0:316 / /dev rw,nosuid - tmpfs tmpfs rw,size=65536k,mode=755`,
  // Another container's folder at another mount point: not ours to take.
  `1440 1432 8:1 /var/lib/docker/containers/${OTHER}/resolv.conf /etc/resolv.conf rw,relatime - ext4 /dev/sda1 rw`,
  `1441 1432 8:1 /var/lib/docker/containers/${SELF}/hostname /etc/hostname rw,relatime - ext4 /dev/sda1 rw`,
  `1442 1432 8:1 /var/lib/docker/containers/${SELF}/hosts /etc/hosts rw,relatime - ext4 /dev/sda1 rw`,
  `1443 1432 0:310 / /dev/shm rw,nosuid,nodev,noexec,relatime - tmpfs shm rw,size=65536k`,
  `1444 1432 0:21 /docker.sock /var/run/docker.sock rw,nosuid,nodev,noexec,relatime - tmpfs tmpfs rw,size=1632768k,mode=755`,
  '',
].join('\n');

/** /proc/self/mountinfo of a process on the Docker host itself. */
const hostMountinfo = [
  `22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw,errors=remount-ro`,
  `23 22 0:5 / /dev rw,nosuid,relatime shared:2 - devtmpfs udev rw,size=4046784k,nr_inodes=1011696,mode=755`,
  `25 22 0:23 / /run rw,nosuid,nodev,noexec,relatime shared:5 - tmpfs tmpfs rw,size=815300k,mode=755`,
  `512 22 0:55 / /var/lib/docker/containers/${OTHER}/mounts/shm rw,nosuid,nodev,noexec,relatime shared:270 - tmpfs shm rw,size=65536k`,
  `513 22 8:1 /var/lib/docker/containers/${OTHER}/mounts/shm /var/lib/docker/containers/${OTHER}/mounts/shm rw,relatime shared:1 - ext4 /dev/sda1 rw`,
  `520 25 0:4 net:[4026532601] /run/docker/netns/7a3b9d1e2f44 rw shared:280 - nsfs nsfs rw`,
  `530 22 0:60 / /var/lib/docker/overlay2/9a8b/merged rw,relatime shared:290 - overlay overlay rw,lowerdir=/var/lib/docker/overlay2/l/ABC`,
  '',
].join('\n');

const cgroupV1 = [
  `12:memory:/docker/${SELF}`,
  `11:cpu,cpuacct:/docker/${SELF}`,
  `10:blkio:/docker/${SELF}`,
  `9:pids:/docker/${SELF}`,
  `1:name=systemd:/docker/${SELF}`,
  `0::/system.slice/containerd.service`,
  '',
].join('\n');

const cgroupSystemd = `0::/system.slice/docker-${SELF}.scope\n`;
const cgroupHost = `0::/user.slice/user-1000.slice/session-3.scope\n`;

describe('idFromMountinfo', () => {
  it("finds the id from the container folder bind-mounted at /etc/hostname", () => {
    assert.equal(idFromMountinfo(containerMountinfo), SELF);
  });

  it("does not take a host's mount of a container folder for its own", () => {
    assert.equal(idFromMountinfo(hostMountinfo), undefined);
  });

  it('needs a full 64-hex id in the root field', () => {
    assert.equal(
      idFromMountinfo(`1441 1432 8:1 /var/lib/docker/containers/${SELF.slice(0, 12)}/hostname /etc/hostname rw - ext4 /dev/sda1 rw\n`),
      undefined,
    );
  });

  it('works with another Docker data root', () => {
    assert.equal(idFromMountinfo(`1441 1432 8:1 /data/docker/containers/${SELF}/hostname /etc/hostname rw - ext4 /dev/sda1 rw`), SELF);
  });

  it('returns undefined for empty input', () => {
    assert.equal(idFromMountinfo(''), undefined);
  });
});

describe('idFromCgroup', () => {
  it('reads cgroup v1 "/docker/<id>" lines', () => {
    assert.equal(idFromCgroup(cgroupV1), SELF);
    assert.equal(idFromCgroup(`12:memory:/docker/${SELF}`), SELF);
  });

  it('reads the systemd driver\'s "docker-<id>.scope"', () => {
    assert.equal(idFromCgroup(cgroupSystemd), SELF);
  });

  it("finds nothing in a host process's cgroup or a private cgroup namespace", () => {
    assert.equal(idFromCgroup(cgroupHost), undefined);
    assert.equal(idFromCgroup('0::/\n'), undefined);
    assert.equal(idFromCgroup(''), undefined);
  });

  it('needs a full 64-hex id', () => {
    assert.equal(idFromCgroup(`12:memory:/docker/${SELF.slice(0, 63)}`), undefined);
  });
});

describe('detectSelfId', () => {
  it('prefers mountinfo, then cgroup, then a 12-hex host name', () => {
    assert.equal(detectSelfId({ mountinfo: containerMountinfo, cgroup: `12:memory:/docker/${OTHER}`, hostname: 'abcdefabcdef' }), SELF);
    assert.equal(detectSelfId({ mountinfo: hostMountinfo, cgroup: cgroupSystemd, hostname: 'abcdefabcdef' }), SELF);
    assert.equal(detectSelfId({ cgroup: cgroupV1 }), SELF);
    assert.equal(detectSelfId({ mountinfo: hostMountinfo, cgroup: cgroupHost, hostname: '4b825dc642cb' }), '4b825dc642cb');
  });

  it('takes the host name only when it looks like a short container id', () => {
    for (const hostname of ['buildhost', '4B825DC642CB', '4b825dc642c', '4b825dc642cb6', 'web-1', '']) {
      assert.equal(detectSelfId({ mountinfo: hostMountinfo, cgroup: cgroupHost, hostname }), undefined, hostname);
    }
  });

  it('finds nothing on a host', () => {
    assert.equal(detectSelfId({ mountinfo: hostMountinfo, cgroup: cgroupHost, hostname: 'docker-host-01' }), undefined);
    assert.equal(detectSelfId({}), undefined);
  });
});
