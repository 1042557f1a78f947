// Which container a file belongs to, from the mounts of inspected
// containers. sidekick on the host reads a volume at its host path (the
// mount's Source); sidekick in a container with `--volumes-from app` reads it
// where its own container mounts it (its Destination), which names the same
// volume or host folder as one of app's mounts.

import { sep } from 'node:path';
import { containerMeta, type ContainerMeta } from '../../core/record.js';
import type { ContainerSummary, MountInfo } from '../../docker/client.js';

/** A file of no known container asks Docker again, at most this often. */
const LOOKUP_EVERY_MS = 1000;

interface Mount {
  readonly name: string | undefined;
  readonly source: string;
  readonly destination: string;
}

function mountsOf(list: readonly MountInfo[] | null | undefined): Mount[] {
  return (list ?? [])
    .filter((m) => typeof m.Source === 'string' && typeof m.Destination === 'string')
    .map((m) => ({ name: m.Name !== undefined && m.Name !== '' ? m.Name : undefined, source: m.Source!, destination: m.Destination! }));
}

/** `dir` itself or a folder above `path`. */
function contains(dir: string, path: string): boolean {
  if (dir === '') return false;
  const d = dir.endsWith(sep) ? dir.slice(0, -1) : dir;
  return path === d || path.startsWith(d + sep);
}

export class VolumeOwners {
  private readonly containers = new Map<string, { readonly meta: ContainerMeta; readonly mounts: Mount[] }>();
  private own: Mount[] = [];
  private lookedUpAt = -Infinity;
  private lookup: Promise<void> | undefined;
  /** Changes whenever an answer may change: callers cache by it. */
  version = 0;

  constructor(
    /** sidekick's own container id (or its prefix): never an owner, though it mounts the same volumes. */
    private readonly selfId: string | undefined = undefined,
    /** Every container with its mounts, asked when a file's owner is not known yet. */
    private readonly listAll: (() => Promise<readonly ContainerSummary[]>) | undefined = undefined,
    /** Adds the tag and fields to what the list says of a container. */
    private readonly decorate: (meta: ContainerMeta, facts: { imageId?: string }) => ContainerMeta = (meta) => meta,
  ) {}

  /** sidekick's own container's mounts, when it runs in one. */
  setOwn(list: readonly MountInfo[] | null | undefined): void {
    this.own = mountsOf(list);
    this.version++;
  }

  set(meta: ContainerMeta, list: readonly MountInfo[] | null | undefined): void {
    if (this.selfId !== undefined && meta.id.startsWith(this.selfId)) return;
    const mounts = mountsOf(list);
    if (mounts.length === 0 && !this.containers.has(meta.id)) return;
    this.containers.set(meta.id, { meta, mounts });
    this.version++;
  }

  delete(id: string): void {
    if (this.containers.delete(id)) this.version++;
  }

  /**
   * The owner of `path`, asking Docker for every container's mounts if none
   * is known yet: a file can appear before its container's start event is
   * handled. Never fails; undefined: the file belongs to no container.
   */
  async resolve(path: string): Promise<ContainerMeta | undefined> {
    const known = this.ownerOf(path);
    if (known !== undefined || this.listAll === undefined) return known;
    const list = this.listAll;
    this.lookup ??= (async () => {
      if (Date.now() - this.lookedUpAt < LOOKUP_EVERY_MS) return;
      this.lookedUpAt = Date.now();
      try {
        for (const c of await list()) {
          if (!this.containers.has(c.Id)) {
            const base = containerMeta(c.Id, c.Names[0] ?? '', c.Image, c.Labels);
            this.set(this.decorate(base, c.ImageID === undefined ? {} : { imageId: c.ImageID }), c.Mounts);
          }
        }
      } catch {
        // Docker does not answer: the file carries the host only, until an inspect tells more.
      }
    })().finally(() => {
      this.lookup = undefined;
    });
    await this.lookup;
    return this.ownerOf(path);
  }

  /** The container whose volume (or bind-mounted folder) holds `path`; undefined: none known. */
  ownerOf(path: string): ContainerMeta | undefined {
    // Through sidekick's own mount of the folder: the deepest one that holds the path.
    let via: Mount | undefined;
    for (const m of this.own) {
      if (contains(m.destination, path) && (via === undefined || m.destination.length > via.destination.length)) via = m;
    }
    if (via !== undefined) {
      const v = via;
      let best: ContainerMeta | undefined;
      for (const { meta, mounts } of this.containers.values()) {
        for (const m of mounts) {
          const same = v.name !== undefined ? m.name === v.name : m.source === v.source;
          if (!same) continue;
          // The container that mounts it where sidekick does is the one `--volumes-from` named.
          if (m.destination === v.destination) return meta;
          best ??= meta;
        }
      }
      if (best !== undefined) return best;
    }
    // On the host: the deepest mount Source that holds the path.
    let owner: ContainerMeta | undefined;
    let depth = -1;
    for (const { meta, mounts } of this.containers.values()) {
      for (const m of mounts) {
        if (m.source.length > depth && contains(m.source, path)) {
          owner = meta;
          depth = m.source.length;
        }
      }
    }
    return owner;
  }
}
