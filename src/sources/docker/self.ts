// Which container, if any, sidekick itself runs in. Collecting itself loops
// (each line it prints comes back as a record it prints again); taking
// another container for itself loses that container's logs.
//
// Evidence, strongest first. Our own cgroup names our container: Docker's
// `/docker/<id>` or `docker-<id>.scope`, Podman's `libpod-<id>`, in
// /proc/self/cgroup and as the root of the cgroup mounts in
// /proc/self/mountinfo; Podman's /run/.containerenv comes from our own folder.
// /etc/hostname, /etc/hosts and /etc/resolv.conf come from the folder of the
// container whose network namespace we are in, which is another's under
// `--network container:X` (compose's `network_mode: service:X`, a Kubernetes
// pod's pause container), and the HOSTNAME variable is that container's name
// too. Under cgroup v2 with its default private cgroup namespace the cgroup
// says only `0::/`, and only that weaker evidence is left: resolveSelf then
// asks the API which container it is.

import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Readable } from 'node:stream';
import type { ContainerInspectInfo } from 'dockerode';
import type { Logger } from 'pino';
import { statusOf } from '../../docker/client.js';

/**
 * The last part of a container's cgroup path: Docker's cgroupfs `/docker/<id>`
 * (Kubernetes' `.../pod<uid>/<id>`), the systemd driver's `docker-<id>.scope`,
 * Podman's `libpod-<id>` and `libpod-<id>.scope` (crun may add `/container`).
 * Not conmon's `libpod-conmon-<id>.scope`: conmon is outside the container.
 */
const CGROUP_PATH = /(?:^|\/)(?:docker-|libpod-)?([0-9a-f]{64})(?:\.scope)?(?:\/container)?$/;

/** Podman's own file of each container, in `<storage>/<driver>-containers/<id>/userdata/`. */
const CONTAINERENV_ROOT = /-containers\/([0-9a-f]{64})\/userdata\/\.containerenv$/;

/** Docker's `<root>/containers/<id>/hostname`, Podman's `.../<driver>-containers/<id>/userdata/hostname`. */
const NAMESPACE_FILE_ROOT = /containers\/([0-9a-f]{64})\/(?:userdata\/)?(?:hostname|hosts|resolv\.conf)$/;

/** The files of the network (and UTS) namespace's owner, the most telling first. */
const NAMESPACE_FILES = ['/etc/hostname', '/etc/hosts', '/etc/resolv.conf'] as const;

export type Evidence = 'cgroup' | 'cgroup mount' | '/run/.containerenv' | (typeof NAMESPACE_FILES)[number] | 'HOSTNAME';

export interface SelfSources {
  readonly mountinfo?: string;
  readonly cgroup?: string;
  readonly hostname?: string;
}

/** What the files say of our container. */
export interface SelfClue {
  /** A full id; from HOSTNAME, Docker's 12-character prefix. */
  readonly id: string;
  readonly evidence: Evidence;
  /** True: the evidence is our own container's alone. False: it is the namespace owner's, maybe another container. */
  readonly own: boolean;
  /** The writable layer of our root (overlay's upperdir): Docker reports each container's as GraphDriver.Data.UpperDir. */
  readonly upperDir: string | undefined;
}

interface Mount {
  readonly root: string;
  readonly mountPoint: string;
  readonly fsType: string;
  readonly superOptions: string;
}

/** The lines of /proc/self/mountinfo: `id parent dev root mountpoint options [optional...] - fstype source superoptions`. */
function mountsOf(mountinfo: string): Mount[] {
  const mounts: Mount[] = [];
  for (const line of mountinfo.split('\n')) {
    const fields = line.split(' ');
    const dash = fields.indexOf('-', 6);
    if (dash < 0) continue;
    mounts.push({ root: fields[3]!, mountPoint: fields[4]!, fsType: fields[dash + 1] ?? '', superOptions: fields[dash + 3] ?? '' });
  }
  return mounts;
}

/** From /proc/self/cgroup (cgroup v1, or v2 without a private namespace). */
export function idFromCgroup(cgroup: string): string | undefined {
  for (const line of cgroup.split('\n')) {
    // `hierarchy:controllers:path`; the controllers have no colon.
    const path = line.slice(line.indexOf(':', line.indexOf(':') + 1) + 1);
    const m = CGROUP_PATH.exec(path);
    if (m !== null) return m[1];
  }
  return undefined;
}

/** From the roots of the cgroup mounts, which are our own cgroup without a private cgroup namespace. */
export function idFromCgroupMounts(mountinfo: string): string | undefined {
  for (const m of mountsOf(mountinfo)) {
    if (m.fsType !== 'cgroup' && m.fsType !== 'cgroup2') continue;
    const id = CGROUP_PATH.exec(m.root)?.[1];
    if (id !== undefined) return id;
  }
  return undefined;
}

/** From Podman's /run/.containerenv, bind-mounted from our own folder whatever namespaces we share. */
export function idFromContainerenv(mountinfo: string): string | undefined {
  for (const m of mountsOf(mountinfo)) {
    if (m.mountPoint !== '/run/.containerenv') continue;
    const id = CONTAINERENV_ROOT.exec(m.root)?.[1];
    if (id !== undefined) return id;
  }
  return undefined;
}

/**
 * The container whose /etc/hostname (or /etc/hosts, /etc/resolv.conf) we
 * see: ours, or the one whose network namespace we share. Only the mount
 * points count: a host sees every container's folders mounted elsewhere.
 */
export function namespaceOwnerFromMountinfo(mountinfo: string): { id: string; file: (typeof NAMESPACE_FILES)[number] } | undefined {
  const mounts = mountsOf(mountinfo);
  for (const file of NAMESPACE_FILES) {
    for (const m of mounts) {
      if (m.mountPoint !== file) continue;
      const id = NAMESPACE_FILE_ROOT.exec(m.root)?.[1];
      if (id !== undefined) return { id, file };
    }
  }
  return undefined;
}

/** overlay's upperdir of the root mount: our container's writable layer. */
export function upperDirOf(mountinfo: string): string | undefined {
  const root = mountsOf(mountinfo).findLast((m) => m.mountPoint === '/');
  if (root?.fsType !== 'overlay') return undefined;
  return root.superOptions
    .split(',')
    .find((o) => o.startsWith('upperdir='))
    ?.slice('upperdir='.length);
}

/** The strongest evidence of our container in the files; undefined: none (not in a container, as far as they tell). */
export function detectSelf(sources: SelfSources): SelfClue | undefined {
  const { mountinfo = '', cgroup = '', hostname } = sources;
  const upperDir = upperDirOf(mountinfo);
  const own = (id: string | undefined, evidence: Evidence): SelfClue | undefined => (id === undefined ? undefined : { id, evidence, own: true, upperDir });
  const found =
    own(idFromCgroup(cgroup), 'cgroup') ?? own(idFromCgroupMounts(mountinfo), 'cgroup mount') ?? own(idFromContainerenv(mountinfo), '/run/.containerenv');
  if (found !== undefined) return found;
  const owner = namespaceOwnerFromMountinfo(mountinfo);
  if (owner !== undefined) return { id: owner.id, evidence: owner.file, own: false, upperDir };
  // Docker's default host name: the first 12 characters of the id.
  if (hostname !== undefined && /^[0-9a-f]{12}$/.test(hostname)) return { id: hostname, evidence: 'HOSTNAME', own: false, upperDir };
  return undefined;
}

/** The calls resolveSelf makes (DockerApi's). */
export interface SelfApi {
  inspect(id: string): Promise<ContainerInspectInfo>;
  listRunning(): Promise<readonly { readonly Id: string; readonly HostConfig?: { readonly NetworkMode?: string } }[]>;
  /** Follows a container's logs from `since` (seconds). */
  logs(id: string, options: { readonly since?: string }): Promise<Readable>;
}

export interface SelfFound {
  /** Our container's id (full, but for an unverified HOSTNAME); undefined: none, or none to refuse. */
  readonly id: string | undefined;
  /** What named it. */
  readonly evidence: Evidence | 'none';
  /** How the API confirmed it: false when it could not, or found what doubts it. */
  readonly confirmed: boolean;
  /** What was found and why, for the start log. */
  readonly why: string;
}

/**
 * Checks the clue through the API. Our own cgroup's id is kept whatever the
 * API says (no other container's log stream can carry our lines). The owner of
 * a shared namespace is us only if no running container joined its network
 * namespace; otherwise the one whose writable layer is our root's, or whose log
 * stream carries a marker we print. If none does, none is refused: collecting
 * containers that do not carry our lines cannot loop.
 */
export async function resolveSelf(clue: SelfClue | undefined, api: SelfApi, mark: (marker: string) => void, markWaitMs = 5_000): Promise<SelfFound> {
  if (clue === undefined) {
    return { id: undefined, evidence: 'none', confirmed: false, why: 'no container id in /proc/self/cgroup, /proc/self/mountinfo or HOSTNAME' };
  }
  const { evidence } = clue;
  let info: ContainerInspectInfo | undefined;
  try {
    info = await api.inspect(clue.id);
  } catch (err) {
    if (statusOf(err) !== 404) {
      // The files' word stands: the id they name, as sidekick always took it.
      return { id: clue.id, evidence, confirmed: false, why: `could not ask Docker about ${clue.id}: ${(err as Error).message}` };
    }
  }
  if (clue.own) {
    if (info === undefined) return { id: clue.id, evidence, confirmed: false, why: 'Docker knows no container of that id (another engine runs sidekick?)' };
    if (info.State?.Running !== true) return { id: info.Id, evidence, confirmed: false, why: 'Docker says that container is not running' };
    return { id: info.Id, evidence, confirmed: true, why: 'our own cgroup or folder: a running container' };
  }
  if (info === undefined)
    return { id: undefined, evidence, confirmed: false, why: `Docker knows no container ${clue.id}: taken for a host name that only looks like an id` };
  // A HOSTNAME copied from a container that joined another's namespace.
  const joined = /^container:(.+)$/.exec(info.HostConfig?.NetworkMode ?? '')?.[1];
  try {
    if (joined !== undefined) info = await api.inspect(joined);
    const owner = info;
    const sharers = (await api.listRunning()).filter((c) => c.HostConfig?.NetworkMode === `container:${owner.Id}`).map((c) => c.Id);
    if (sharers.length === 0) {
      if (owner.State?.Running === true)
        return { id: owner.Id, evidence, confirmed: true, why: 'a running container whose network namespace no other container joined' };
      return { id: undefined, evidence, confirmed: false, why: `the container it names (${owner.Id}) is not running, and none joined its network namespace` };
    }
    const candidates = owner.State?.Running === true ? [owner.Id, ...sharers] : sharers;
    const shared = `${candidates.length} containers share the network namespace of ${owner.Id}`;
    if (clue.upperDir !== undefined) {
      for (const id of candidates) {
        const c = id === owner.Id ? owner : await api.inspect(id);
        // Typed by dockerode as devicemapper's; overlay2's has UpperDir.
        const data = c.GraphDriver?.Data as Readonly<Record<string, string>> | null | undefined;
        if (data?.['UpperDir'] === clue.upperDir) return { id, evidence, confirmed: true, why: `${shared}; this one's writable layer is our root` };
      }
    }
    const marked = await findMarked(api, candidates, mark, markWaitMs);
    if (marked !== undefined) return { id: marked, evidence, confirmed: true, why: `${shared}; this one's log stream carries our marker` };
    return { id: undefined, evidence, confirmed: false, why: `${shared}, and none's log stream carries our marker: none refused, since none can loop` };
  } catch (err) {
    return {
      id: clue.id,
      evidence,
      confirmed: false,
      why: `could not ask Docker which container shares the network namespace of ${clue.id}: ${(err as Error).message}`,
    };
  }
}

/**
 * Which of the containers' log streams carries a marker printed now: ours.
 * Each is followed from a second before the marker until one carries it, or
 * all end, or `waitMs` passes.
 */
async function findMarked(api: SelfApi, ids: readonly string[], mark: (marker: string) => void, waitMs: number): Promise<string | undefined> {
  const marker = `sidekick-self-${randomUUID()}`;
  const since = String(Math.floor(Date.now() / 1000) - 1);
  mark(marker);
  const streams: Readable[] = [];
  let settled = false;
  let timer: NodeJS.Timeout | undefined;
  try {
    return await new Promise<string | undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), waitMs);
      let left = ids.length;
      const ended = (): void => {
        if (--left === 0) resolve(undefined);
      };
      for (const id of ids) {
        api.logs(id, { since }).then((stream) => {
          if (settled) {
            stream.destroy();
            return;
          }
          streams.push(stream);
          // latin1: one character a byte, so a chunk boundary never splits a character.
          stream.setEncoding('latin1');
          let tail = '';
          stream.on('data', (chunk: string) => {
            const text = tail + chunk;
            if (text.includes(marker)) resolve(id);
            tail = text.slice(-marker.length);
          });
          stream.once('end', ended);
          stream.once('error', ended);
        }, ended);
      }
    });
  } finally {
    settled = true;
    clearTimeout(timer);
    for (const s of streams) s.destroy();
  }
}

function readOrUndefined(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** Our container's id (see resolveSelf), said once in the log with the evidence. */
export async function selfOfThisProcess(api: SelfApi, log: Logger, hostname: string | undefined): Promise<string | undefined> {
  const clue = detectSelf({
    mountinfo: readOrUndefined('/proc/self/mountinfo'),
    cgroup: readOrUndefined('/proc/self/cgroup'),
    hostname,
  });
  // At info whatever the log level: the marker must reach our log stream to be found there.
  const marker = log.child({}, { level: 'info' });
  const found = await resolveSelf(clue, api, (m) => marker.info({ marker: m }, 'sidekick looks for this line in the log streams of the containers it may be'));
  const fields = { selfId: found.id, evidence: found.evidence, candidate: clue?.id, why: found.why };
  if (clue === undefined) log.info(fields, 'not in a container, as far as sidekick can tell');
  else if (found.confirmed) log.info(fields, 'own container found: never collected');
  else log.warn(fields, 'own container not confirmed');
  return found.id;
}
