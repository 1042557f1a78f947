// Which container, if any, sidekick itself runs in, so that it never collects
// its own output (which would loop: every line it prints becomes a record it
// prints again).

import { readFileSync } from 'node:fs';

/** From /proc/self/mountinfo: Docker bind-mounts /etc/hostname from the container's folder. */
export function idFromMountinfo(mountinfo: string): string | undefined {
  for (const line of mountinfo.split('\n')) {
    const fields = line.split(' ');
    const root = fields[3];
    const mountPoint = fields[4];
    if (mountPoint !== '/etc/hostname' || root === undefined) continue;
    const m = /\/containers\/([0-9a-f]{64})\//.exec(root);
    if (m !== null) return m[1];
  }
  return undefined;
}

/** From /proc/self/cgroup (cgroup v1, or v2 without a private namespace). */
export function idFromCgroup(cgroup: string): string | undefined {
  return /(?:docker[-/]|\/)([0-9a-f]{64})(?:\.scope)?$/m.exec(cgroup)?.[1];
}

export interface SelfSources {
  readonly mountinfo?: string;
  readonly cgroup?: string;
  readonly hostname?: string;
}

/** The full id, or the 12-character prefix Docker uses as default host name. */
export function detectSelfId(sources: SelfSources): string | undefined {
  const fromMounts = sources.mountinfo === undefined ? undefined : idFromMountinfo(sources.mountinfo);
  if (fromMounts !== undefined) return fromMounts;
  const fromCgroup = sources.cgroup === undefined ? undefined : idFromCgroup(sources.cgroup);
  if (fromCgroup !== undefined) return fromCgroup;
  const host = sources.hostname;
  return host !== undefined && /^[0-9a-f]{12}$/.test(host) ? host : undefined;
}

function readOrUndefined(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

export function selfIdOfThisProcess(hostname: string | undefined): string | undefined {
  return detectSelfId({
    mountinfo: readOrUndefined('/proc/self/mountinfo'),
    cgroup: readOrUndefined('/proc/self/cgroup'),
    hostname,
  });
}
