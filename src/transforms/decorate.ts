// What sidekick adds to a container's metadata, once per container: its tag
// (SIDEKICK_TAG, a Docker-style `--log-opt tag` template) and its fields
// (SIDEKICK_FIELDS: chosen env vars and labels; SIDEKICK_STATIC_FIELDS).

import type { ContainerMeta } from '../core/record.js';

/** What a template or a field may read beyond the metadata (from inspect). */
export interface ContainerFacts {
  /** `sha256:…` */
  readonly imageId?: string;
  /** `NAME=value` entries, before redaction. */
  readonly env?: readonly string[];
}

type Part = string | ((meta: ContainerMeta, facts: ContainerFacts) => string);

const PLACEHOLDERS: Record<string, (meta: ContainerMeta, facts: ContainerFacts) => string> = {
  ID: (m) => m.id.slice(0, 12),
  FullID: (m) => m.id,
  Name: (m) => m.name,
  ImageName: (m) => m.image,
  ImageID: (_m, f) => (f.imageId ?? '').replace(/^sha256:/, '').slice(0, 12),
  ImageFullID: (_m, f) => f.imageId ?? '',
  DaemonName: () => 'docker',
};

export type TagTemplate = (meta: ContainerMeta, facts: ContainerFacts) => string;

/**
 * Compiles a tag template: text with `{{.ID}}`, `{{.FullID}}`, `{{.Name}}`,
 * `{{.ImageName}}`, `{{.ImageID}}`, `{{.ImageFullID}}`, `{{.DaemonName}}` and
 * `{{.Label "key"}}`. Throws an Error naming what it cannot read.
 */
export function compileTag(template: string): TagTemplate {
  const parts: Part[] = [];
  let at = 0;
  for (;;) {
    const open = template.indexOf('{{', at);
    if (open < 0) break;
    const close = template.indexOf('}}', open + 2);
    if (close < 0) throw new Error(`"{{" at ${open} is never closed`);
    if (open > at) parts.push(template.slice(at, open));
    const action = template.slice(open + 2, close).trim();
    const label = /^\.Label\s+"([^"]*)"$/.exec(action);
    if (label !== null) {
      const key = label[1]!;
      parts.push((m) => m.labels[key] ?? '');
    } else {
      const field = /^\.([A-Za-z]+)$/.exec(action)?.[1];
      const render = field === undefined ? undefined : PLACEHOLDERS[field];
      if (render === undefined) {
        throw new Error(
          `{{${action}}}: allowed: ${Object.keys(PLACEHOLDERS)
            .map((p) => `{{.${p}}}`)
            .join(', ')}, {{.Label "key"}}`,
        );
      }
      parts.push(render);
    }
    at = close + 2;
  }
  if (template.indexOf('}}', at) >= 0) throw new Error(`"}}" at ${template.indexOf('}}', at)} without "{{"`);
  if (at < template.length) parts.push(template.slice(at));
  return (meta, facts) => parts.map((p) => (typeof p === 'string' ? p : p(meta, facts))).join('');
}

/** One field copied from the container: `env:NAME` or `label:key`. */
export interface FieldSource {
  readonly from: 'env' | 'label';
  readonly name: string;
}

export function parseFieldSources(text: string): FieldSource[] {
  return text
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t !== '')
    .map((t) => {
      const m = /^(env|label):(.+)$/.exec(t);
      if (m === null) throw new Error(`"${t}": a field is env:NAME or label:key`);
      return { from: m[1] as 'env' | 'label', name: m[2]! };
    });
}

/** `key=value,key=value`. */
export function parseStaticFields(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of text
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t !== '')) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new Error(`"${pair}": a static field is key=value`);
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}

export interface DecorOptions {
  readonly tag: TagTemplate;
  readonly fields: readonly FieldSource[];
  readonly staticFields: Readonly<Record<string, string>>;
}

/** Adds the tag and fields to a container's metadata. */
export function decorate(meta: ContainerMeta, facts: ContainerFacts, o: DecorOptions): ContainerMeta {
  const fields: Record<string, string> = { ...o.staticFields };
  for (const f of o.fields) {
    if (f.from === 'label') {
      const v = meta.labels[f.name];
      if (v !== undefined) fields[f.name] = v;
    } else {
      const prefix = `${f.name}=`;
      const entry = facts.env?.find((e) => e.startsWith(prefix));
      if (entry !== undefined) fields[f.name] = entry.slice(prefix.length);
    }
  }
  const tag = o.tag(meta, facts);
  return Object.keys(fields).length === 0 ? { ...meta, tag } : { ...meta, tag, fields };
}
