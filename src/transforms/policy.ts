// What sidekick does with one container, decided once when it first sees it
// (so a label change applies to containers started after it): whether it is
// collected at all and which record types (SIDEKICK_INCLUDE/EXCLUDE,
// SIDEKICK_TYPES, and the container's own `sidekick.exclude` and
// `sidekick.include` labels), its tag and fields, and whether its JSON
// messages are parsed.

import { decorate, type ContainerFacts, type DecorOptions } from './decorate.js';
import { RECORD_TYPES, type ContainerMeta, type RecordType } from '../core/record.js';
import type { Selection } from './route.js';

export const EXCLUDE_LABEL = 'sidekick.exclude';
export const INCLUDE_LABEL = 'sidekick.include';
export const PARSE_LABEL = 'sidekick.parse';

const NONE: ReadonlySet<RecordType> = new Set();

/** A label's list of types: `logs,stats`; plural or singular. Undefined: not a list of types. */
export function typeList(text: string): Set<RecordType> | undefined {
  const out = new Set<RecordType>();
  for (const word of text
    .split(',')
    .map((t) => t.trim().toLowerCase())
    .filter((t) => t !== '')) {
    const type = word.endsWith('s') && word !== 'stats' ? word.slice(0, -1) : word;
    if (!(RECORD_TYPES as readonly string[]).includes(type)) return undefined;
    out.add(type as RecordType);
  }
  return out.size === 0 ? undefined : out;
}

export interface PolicyOptions {
  readonly types: ReadonlySet<RecordType>;
  readonly containers: Selection;
  readonly decor: DecorOptions;
  readonly parseJson: boolean;
  /** Told of a label sidekick cannot read (once per container). */
  readonly badLabel: (meta: ContainerMeta, label: string, value: string) => void;
}

export class ContainerPolicy {
  constructor(private readonly o: PolicyOptions) {}

  /** The metadata every record of the container carries: with its tag and fields. */
  meta(base: ContainerMeta, facts: ContainerFacts): ContainerMeta {
    return decorate(base, facts, this.o.decor);
  }

  /** The record types collected of this container; empty: none at all. */
  typesOf(meta: ContainerMeta): ReadonlySet<RecordType> {
    if (!this.o.containers.all && !this.o.containers.selects(meta)) return NONE;
    const types = new Set(this.o.types);
    const include = meta.labels[INCLUDE_LABEL];
    if (include !== undefined) {
      const added = typeList(include);
      if (added === undefined) this.o.badLabel(meta, INCLUDE_LABEL, include);
      else for (const t of added) types.add(t);
    }
    const exclude = meta.labels[EXCLUDE_LABEL];
    if (exclude !== undefined) {
      if (exclude.trim().toLowerCase() === 'true') return NONE;
      const removed = typeList(exclude);
      if (removed === undefined) this.o.badLabel(meta, EXCLUDE_LABEL, exclude);
      else for (const t of removed) types.delete(t);
    }
    return types;
  }

  /** Whether the container's (or, undefined, the host's) messages that are JSON objects are parsed. */
  parsesJson(meta: ContainerMeta | undefined): boolean {
    const label = meta?.labels[PARSE_LABEL];
    return label === undefined ? this.o.parseJson : label.trim().toLowerCase() === 'json';
  }
}

/** A message that is a JSON object, whole: sent also as `json`. */
export function isJsonObject(message: string): boolean {
  if (message.length < 2 || message.charCodeAt(0) !== 0x7b) return false;
  try {
    const v: unknown = JSON.parse(message);
    return typeof v === 'object' && v !== null && !Array.isArray(v);
  } catch {
    return false;
  }
}
