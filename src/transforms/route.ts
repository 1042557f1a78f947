// Which containers a setting or a sink applies to. A matcher list is
// comma-separated; each matcher is one of
//   name:<glob or /regex/>          the container's name
//   image:<glob or /regex/>         its image, as created (nginx:1.27)
//   label:<key>  label:<key>=<glob> a label, present or with a value
//   compose.project:<glob>  compose.service:<glob>
// A container is selected when it matches at least one include matcher (or
// there are none) and no exclude matcher: exclude wins.

import picomatch from 'picomatch';
import { RECORD_TYPES, type ContainerMeta, type RecordType, type SidekickRecord } from '../core/record.js';

export type Matcher = (meta: ContainerMeta) => boolean;

const KINDS = ['name', 'image', 'label', 'compose.project', 'compose.service'] as const;

/** A glob, or a /regex/ (with optional flags), as a test on a string. */
function textTest(pattern: string): (text: string) => boolean {
  const re = /^\/(.*)\/([a-z]*)$/s.exec(pattern);
  if (re !== null) {
    const regex = new RegExp(re[1]!, re[2]);
    return (text) => regex.test(text);
  }
  return picomatch(pattern, { dot: true });
}

/** One matcher; throws an Error saying what is wrong. */
export function parseMatcher(text: string): Matcher {
  const colon = text.indexOf(':');
  const kind = colon < 0 ? '' : text.slice(0, colon);
  const value = colon < 0 ? '' : text.slice(colon + 1);
  if (!(KINDS as readonly string[]).includes(kind)) {
    throw new Error(`"${text}": a matcher is ${KINDS.map((k) => `${k}:…`).join(', ')}`);
  }
  if (value === '') throw new Error(`"${text}": nothing to match after "${kind}:"`);
  let test: (text: string) => boolean;
  try {
    test = textTest(kind === 'label' && value.includes('=') ? value.slice(value.indexOf('=') + 1) : value);
  } catch (err) {
    throw new Error(`"${text}": ${(err as Error).message}`);
  }
  switch (kind) {
    case 'name':
      return (m) => test(m.name);
    case 'image':
      return (m) => test(m.image);
    case 'compose.project':
      return (m) => m.compose !== undefined && test(m.compose.project);
    case 'compose.service':
      return (m) => m.compose !== undefined && test(m.compose.service);
    default: {
      const eq = value.indexOf('=');
      if (eq < 0) return (m) => m.labels[value] !== undefined;
      const key = value.slice(0, eq);
      return (m) => {
        const v = m.labels[key];
        return v !== undefined && test(v);
      };
    }
  }
}

/** A comma-separated list of matchers (empty: none). */
export function parseMatchers(text: string): Matcher[] {
  return text
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t !== '')
    .map(parseMatcher);
}

export class Selection {
  constructor(
    private readonly include: readonly Matcher[] = [],
    private readonly exclude: readonly Matcher[] = [],
  ) {}

  /** No matchers: every container. */
  get all(): boolean {
    return this.include.length === 0 && this.exclude.length === 0;
  }

  selects(meta: ContainerMeta): boolean {
    if (this.include.length > 0 && !this.include.some((m) => m(meta))) return false;
    return !this.exclude.some((m) => m(meta));
  }
}

/**
 * Which records a sink (or a /tap client) takes, from `types`, `include` and
 * `exclude` in a query. Throws an Error naming the bad option.
 */
export function routeFromQuery(q: URLSearchParams): SinkRoute {
  let types: Set<RecordType> | undefined;
  const t = q.get('types');
  if (t !== null) {
    types = new Set();
    for (const name of t
      .split(',')
      .map((x) => x.trim())
      .filter((x) => x !== '')) {
      if (!(RECORD_TYPES as readonly string[]).includes(name)) {
        throw new Error(`types=${t}: unknown type "${name}"; allowed: ${RECORD_TYPES.join(', ')}`);
      }
      types.add(name as RecordType);
    }
    if (types.size === 0) throw new Error(`types=${t}: name at least one of ${RECORD_TYPES.join(', ')}`);
  }
  const matchers = (key: string): Matcher[] => {
    const v = q.get(key);
    try {
      return v === null ? [] : parseMatchers(v);
    } catch (err) {
      throw new Error(`${key}=${v}: ${(err as Error).message}`);
    }
  };
  return { types, containers: new Selection(matchers('include'), matchers('exclude')) };
}

/** Which records a sink takes (?types=, ?include=, ?exclude=). */
export interface SinkRoute {
  /** Undefined: every type. */
  readonly types: ReadonlySet<RecordType> | undefined;
  /** Of the records of a container; records of no container always pass. */
  readonly containers: Selection;
}

export function routeTakes(route: SinkRoute, record: SidekickRecord): boolean {
  if (route.types !== undefined && !route.types.has(record.type as RecordType)) return false;
  return record.container === undefined || route.containers.all || route.containers.selects(record.container);
}
