import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { PassThrough, type Readable } from 'node:stream';
import { describe, it } from 'node:test';
import type { ContainerInspectInfo } from 'dockerode';
import {
  detectSelf,
  idFromCgroup,
  idFromCgroupMounts,
  idFromContainerenv,
  namespaceOwnerFromMountinfo,
  resolveSelf,
  upperDirOf,
  type SelfApi,
  type SelfClue,
  type SelfSources,
} from '../../../../src/sources/docker/self.js';

const FIXTURES = new URL('../../../../../test/fixtures/self/', import.meta.url);

interface Expected {
  readonly self: string | null;
  readonly namespaceOwner: string | null;
  readonly evidence: string | null;
  readonly upperDir?: string;
}

function fixture(name: string): { sources: SelfSources; expected: Expected } {
  const read = (file: string): string => readFileSync(new URL(`${name}/${file}`, FIXTURES), 'utf8');
  return {
    sources: { cgroup: read('cgroup'), mountinfo: read('mountinfo'), hostname: read('hostname').trim() },
    expected: JSON.parse(read('expected.json')) as Expected,
  };
}

const NAMES = readdirSync(FIXTURES, { withFileTypes: true })
  .filter((e) => e.isDirectory())
  .map((e) => e.name);

const SELF = '4b825dc642cb6eb9a060e54bf8d69288fbee4904c6d5e5a0e9c8f47c59d1b7e2';
const APP = '9f2a1c3e5b7d9f1a3c5e7b9d1f3a5c7e9b1d3f5a7c9e1b3d5f7a9c1e3b5d7f9a';
const OTHER = 'c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00';

describe('detectSelf on recorded files', () => {
  it('has fixtures for every mode', () => {
    assert.ok(NAMES.length >= 15, NAMES.join(', '));
  });

  for (const name of NAMES) {
    it(name, () => {
      const { sources, expected } = fixture(name);
      const clue = detectSelf(sources);
      if (expected.self === null) {
        assert.equal(clue, undefined);
        return;
      }
      assert.ok(clue !== undefined);
      assert.equal(clue.evidence, expected.evidence);
      if (clue.own) assert.equal(clue.id, expected.self, 'our own evidence names us');
      else assert.equal(clue.id, expected.namespaceOwner, "a namespace file names the namespace's owner");
      assert.equal(clue.upperDir, expected.upperDir);
    });
  }

  it('never takes the namespace owner for itself when its cgroup or .containerenv names it', () => {
    for (const name of ['docker-network-container', 'podman-network-container-cgroupns-private', 'podman-rootless-cgroup2-network-container']) {
      const { sources, expected } = fixture(name);
      assert.notEqual(expected.self, expected.namespaceOwner);
      assert.deepEqual([detectSelf(sources)?.id, detectSelf(sources)?.own], [expected.self, true], name);
    }
  });
});

describe('idFromCgroup', () => {
  it('reads the paths of Docker, systemd, Kubernetes and Podman', () => {
    for (const line of [
      `12:memory:/docker/${SELF}`,
      `0::/system.slice/docker-${SELF}.scope`,
      `11:cpu,cpuacct:/kubepods/burstable/pod0b1c2d3e-4f5a-6b7c-8d9e-0f1a2b3c4d5e/${SELF}`,
      `0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod0b1c.slice/docker-${SELF}.scope`,
      `4:memory:/libpod_parent/libpod-${SELF}`,
      `0::/machine.slice/libpod-${SELF}.scope`,
      `0::/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-${SELF}.scope/container`,
      // Docker in Docker: the innermost is ours.
      `0::/docker/${APP}/docker/${SELF}`,
    ]) {
      assert.equal(idFromCgroup(line), SELF, line);
    }
  });

  it("finds nothing in a host process's cgroup, a private cgroup namespace or conmon's scope", () => {
    for (const text of [
      '0::/user.slice/user-1000.slice/session-3.scope\n',
      '0::/\n',
      '9:name=systemd:/\n0::/\n',
      `0::/machine.slice/libpod-conmon-${SELF}.scope`,
      `12:memory:/docker/${SELF.slice(0, 63)}`,
      '',
    ]) {
      assert.equal(idFromCgroup(text), undefined, text);
    }
  });
});

describe('mountinfo', () => {
  const line = (root: string, mountPoint: string, fs = 'ext4 /dev/sda1 rw'): string => `1441 1432 8:1 ${root} ${mountPoint} rw,relatime - ${fs}`;

  it('takes cgroup mount roots only from cgroup file systems', () => {
    assert.equal(idFromCgroupMounts(line(`/docker/${SELF}`, '/sys/fs/cgroup/memory', 'cgroup cgroup rw,memory')), SELF);
    assert.equal(idFromCgroupMounts(line(`/system.slice/docker-${SELF}.scope`, '/sys/fs/cgroup', 'cgroup2 cgroup2 rw')), SELF);
    assert.equal(idFromCgroupMounts(line(`/docker/${SELF}`, '/data')), undefined);
  });

  it("takes Podman's .containerenv only at /run/.containerenv", () => {
    const root = `/containers/storage/overlay-containers/${SELF}/userdata/.containerenv`;
    assert.equal(idFromContainerenv(line(root, '/run/.containerenv', 'tmpfs tmpfs rw')), SELF);
    assert.equal(idFromContainerenv(line(root, `/run/containers/storage/overlay-containers/${SELF}/userdata/.containerenv`, 'tmpfs tmpfs rw')), undefined);
  });

  it('prefers /etc/hostname, then /etc/hosts, then /etc/resolv.conf, and needs a full id', () => {
    const text = [
      line(`/var/lib/docker/containers/${APP}/resolv.conf`, '/etc/resolv.conf'),
      line(`/var/lib/docker/containers/${OTHER}/hosts`, '/etc/hosts'),
      line(`/var/lib/docker/containers/${SELF}/hostname`, '/etc/hostname'),
    ].join('\n');
    assert.deepEqual(namespaceOwnerFromMountinfo(text), { id: SELF, file: '/etc/hostname' });
    assert.deepEqual(namespaceOwnerFromMountinfo(text.split('\n').slice(0, 2).join('\n')), { id: OTHER, file: '/etc/hosts' });
    assert.equal(namespaceOwnerFromMountinfo(line(`/var/lib/docker/containers/${SELF.slice(0, 12)}/hostname`, '/etc/hostname')), undefined);
    assert.equal(namespaceOwnerFromMountinfo(''), undefined);
  });

  it("reads overlay's upperdir of the root, nothing for other file systems", () => {
    const upper = '/var/lib/docker/overlay2/abc/diff';
    assert.equal(upperDirOf(line('/', '/', `overlay overlay rw,lowerdir=/l/A:/l/B,upperdir=${upper},workdir=/w`)), upper);
    assert.equal(upperDirOf(line('/var/lib/docker/vfs/dir/abc', '/')), undefined);
    assert.equal(upperDirOf(line('/', '/', 'fuse.fuse-overlayfs fuse-overlayfs rw,user_id=0')), undefined);
  });

  it('takes a 12-hex HOSTNAME only when the files say nothing', () => {
    assert.deepEqual(detectSelf({ hostname: SELF.slice(0, 12) }), { id: SELF.slice(0, 12), evidence: 'HOSTNAME', own: false, upperDir: undefined });
    for (const hostname of ['buildhost', '4B825DC642CB', '4b825dc642c', '4b825dc642cb6', 'web-1', '']) {
      assert.equal(detectSelf({ hostname }), undefined, hostname);
    }
    assert.equal(detectSelf({}), undefined);
  });
});

/** A Docker API answering from a table; `logs` streams what `lines` says once the marker is known. */
class FakeApi implements SelfApi {
  marker = '';
  readonly streams: PassThrough[] = [];
  readonly logsAsked: string[] = [];
  listed = 0;

  constructor(
    private readonly containers: readonly Partial<ContainerInspectInfo>[],
    private readonly lines: (id: string, marker: string) => string[] = () => [],
    private readonly failure?: Error & { statusCode?: number },
  ) {}

  async inspect(id: string): Promise<ContainerInspectInfo> {
    if (this.failure !== undefined) throw this.failure;
    const found = this.containers.find((c) => c.Id!.startsWith(id));
    if (found === undefined) throw Object.assign(new Error('no such container'), { statusCode: 404 });
    return found as ContainerInspectInfo;
  }

  async listRunning(): Promise<{ Id: string; HostConfig: { NetworkMode?: string } }[]> {
    this.listed++;
    return this.containers.filter((c) => c.State?.Running === true).map((c) => ({ Id: c.Id!, HostConfig: { NetworkMode: c.HostConfig?.NetworkMode } }));
  }

  async logs(id: string): Promise<Readable> {
    this.logsAsked.push(id);
    const stream = new PassThrough();
    this.streams.push(stream);
    const chunks = this.lines(id, this.marker);
    setImmediate(() => {
      for (const c of chunks) stream.write(Buffer.from(c, 'latin1'));
    });
    return stream;
  }

  readonly mark = (marker: string): void => {
    this.marker = marker;
  };
}

function container(id: string, networkMode = 'bridge', running = true, upperDir?: string): Partial<ContainerInspectInfo> {
  return {
    Id: id,
    State: { Running: running } as ContainerInspectInfo['State'],
    HostConfig: { NetworkMode: networkMode } as ContainerInspectInfo['HostConfig'],
    GraphDriver: { Name: upperDir === undefined ? 'vfs' : 'overlay2', Data: (upperDir === undefined ? null : { UpperDir: upperDir }) as never },
  };
}

const hostnameClue = (id: string, upperDir?: string): SelfClue => ({ id, evidence: '/etc/hostname', own: false, upperDir });

describe('resolveSelf', () => {
  it('says so when nothing names a container', async () => {
    const found = await resolveSelf(undefined, new FakeApi([]), () => undefined);
    assert.deepEqual([found.id, found.evidence], [undefined, 'none']);
  });

  it('confirms our own cgroup as a running container, and keeps it even when Docker does not know it', async () => {
    const own: SelfClue = { id: SELF, evidence: 'cgroup', own: true, upperDir: undefined };
    const running = await resolveSelf(own, new FakeApi([container(SELF)]), () => undefined);
    assert.deepEqual([running.id, running.confirmed], [SELF, true]);
    const unknown = await resolveSelf(own, new FakeApi([container(APP)]), () => undefined);
    assert.deepEqual([unknown.id, unknown.confirmed], [SELF, false]);
    assert.match(unknown.why, /knows no container/);
  });

  it("takes the namespace's owner when no running container joined its network namespace", async () => {
    const api = new FakeApi([container(SELF), container(OTHER, `container:${APP}`, false)]);
    const found = await resolveSelf(hostnameClue(SELF), api, api.mark);
    assert.deepEqual([found.id, found.confirmed], [SELF, true]);
    assert.deepEqual(api.logsAsked, []);
  });

  it('resolves a short HOSTNAME to the full id', async () => {
    const api = new FakeApi([container(SELF)]);
    const found = await resolveSelf({ id: SELF.slice(0, 12), evidence: 'HOSTNAME', own: false, upperDir: undefined }, api, api.mark);
    assert.equal(found.id, SELF);
  });

  it('refuses nothing for a HOSTNAME that only looks like an id', async () => {
    const found = await resolveSelf(
      { id: 'abcdefabcdef', evidence: 'HOSTNAME', own: false, upperDir: undefined },
      new FakeApi([container(APP)]),
      () => undefined,
    );
    assert.deepEqual([found.id, found.confirmed], [undefined, false]);
  });

  it('as a sidecar on cgroup v2 with overlay2: the container whose writable layer is our root, not the app whose hostname we see', async () => {
    const { sources, expected } = fixture('docker-cgroup2-network-container');
    const clue = detectSelf(sources)!;
    const me = expected.self!;
    const api = new FakeApi([
      container(expected.namespaceOwner!, 'bridge', true, '/var/lib/docker/overlay2/app/diff'),
      container(OTHER, `container:${expected.namespaceOwner!}`, true, '/var/lib/docker/overlay2/other/diff'),
      container(me, `container:${expected.namespaceOwner!}`, true, expected.upperDir),
    ]);
    const found = await resolveSelf(clue, api, api.mark);
    assert.deepEqual([found.id, found.confirmed], [me, true]);
    assert.match(found.why, /writable layer/);
    assert.deepEqual(api.logsAsked, [], 'no log read');
  });

  it('as a sidecar without overlay: the container whose log stream carries our marker, even split across chunks', async () => {
    const { sources, expected } = fixture('docker-network-container-cgroupns-private');
    const me = expected.self!;
    const app = expected.namespaceOwner!;
    const api = new FakeApi([container(app), container(OTHER, `container:${app}`), container(me, `container:${app}`)], (id, marker) =>
      id === me ? ['\u0002\0\0\0\0\0\0\u0050{"msg":"', marker.slice(0, 10), `${marker.slice(10)}"}\n`] : ['\u0001\0\0\0\0\0\0\u0008app 1\n'],
    );
    const found = await resolveSelf(detectSelf(sources), api, api.mark);
    assert.deepEqual([found.id, found.confirmed], [me, true]);
    assert.match(found.why, /marker/);
    assert.deepEqual(new Set(api.logsAsked), new Set([app, OTHER, me]));
    assert.ok(
      api.streams.every((s) => s.destroyed),
      'every stream closed',
    );
  });

  it('refuses none of the containers sharing the namespace when no log stream carries the marker', async () => {
    const api = new FakeApi([container(APP), container(OTHER, `container:${APP}`)]);
    const started = Date.now();
    const found = await resolveSelf(hostnameClue(APP), api, api.mark, 200);
    assert.deepEqual([found.id, found.confirmed], [undefined, false]);
    assert.ok(Date.now() - started < 2_000);
    assert.match(found.why, /none refused/);
    assert.ok(api.streams.every((s) => s.destroyed));
  });

  it("keeps the files' id when Docker cannot be asked", async () => {
    const api = new FakeApi([], undefined, Object.assign(new Error('connect ECONNREFUSED'), { statusCode: undefined }));
    const found = await resolveSelf(hostnameClue(SELF), api, api.mark);
    assert.deepEqual([found.id, found.confirmed], [SELF, false]);
    assert.match(found.why, /ECONNREFUSED/);
  });
});
