// The OTLP Resource of a record: its container (with the OpenTelemetry
// semantic conventions' names), the host, and the chosen SIDEKICK_FIELDS.
// Built once a container, in both encodings; records of no container share
// their host's.

import {
  ATTR_CONTAINER_ID,
  ATTR_CONTAINER_IMAGE_NAME,
  ATTR_CONTAINER_IMAGE_TAGS,
  ATTR_CONTAINER_NAME,
  ATTR_CONTAINER_RUNTIME,
  ATTR_CONTAINER_RUNTIME_NAME,
  ATTR_HOST_NAME,
  ATTR_SERVICE_NAME,
} from '@opentelemetry/semantic-conventions/incubating';
import type { ContainerMeta, SidekickRecord } from '../../core/record.js';
import { version } from '../../core/version.js';
import { attributesJson, writeAttributes, type AttributeValue, type Attributes } from './attributes.js';
import { ProtoWriter } from './protobuf.js';

/** A Resource in both encodings: the message's bytes, and its OTLP/JSON object. */
export interface EncodedResource {
  readonly proto: Buffer;
  readonly json: string;
}

/** Resource.attributes. */
const ATTRIBUTES = 1;

/** The runtime sidekick reads, through Docker's API. */
const RUNTIME = 'docker';

/** An image reference's repository and tag: `registry:5000/app:1.2@sha256:…` gives `registry:5000/app` and `1.2`. */
export function imageNameAndTag(image: string): { readonly name: string; readonly tag?: string } {
  const at = image.indexOf('@');
  const ref = at < 0 ? image : image.slice(0, at);
  const colon = ref.lastIndexOf(':');
  // A colon before the last slash is a registry's port, not a tag.
  if (colon > ref.lastIndexOf('/')) return { name: ref.slice(0, colon), tag: ref.slice(colon + 1) };
  return { name: ref };
}

/** The resource attributes of a container's records. */
export function containerAttributes(meta: ContainerMeta, host: string): Attributes {
  const image = imageNameAndTag(meta.image);
  const out: Array<readonly [string, AttributeValue]> = [
    [ATTR_SERVICE_NAME, meta.compose?.service ?? meta.name],
    [ATTR_CONTAINER_ID, meta.id],
    [ATTR_CONTAINER_NAME, meta.name],
    [ATTR_CONTAINER_IMAGE_NAME, image.name],
  ];
  if (image.tag !== undefined) out.push([ATTR_CONTAINER_IMAGE_TAGS, [image.tag]]);
  // container.runtime is deprecated for container.runtime.name: both, for receivers of either age.
  out.push([ATTR_CONTAINER_RUNTIME, RUNTIME], [ATTR_CONTAINER_RUNTIME_NAME, RUNTIME], [ATTR_HOST_NAME, host]);
  return withFields(out, meta.fields);
}

/** The resource attributes of records of no container: the host, and the static fields. */
export function hostAttributes(host: string, fields: Readonly<Record<string, string>> | undefined): Attributes {
  return withFields([[ATTR_HOST_NAME, host]], fields);
}

/**
 * The attributes and the chosen fields after them. A field named as one of
 * the attributes replaces it: a Resource must not repeat a key, and the user
 * who named a field `service.name` asked for it.
 */
function withFields(out: Array<readonly [string, AttributeValue]>, fields: Readonly<Record<string, string>> | undefined): Attributes {
  if (fields === undefined) return out;
  const named = Object.entries(fields);
  return [...out.filter(([key]) => !Object.hasOwn(fields, key)), ...named];
}

function encode(attributes: Attributes): EncodedResource {
  const w = new ProtoWriter(512);
  writeAttributes(w, ATTRIBUTES, attributes);
  return { proto: w.finish(), json: '{"attributes":' + attributesJson(attributes) + '}' };
}

const byContainer = new WeakMap<ContainerMeta, EncodedResource>();
const byHost = new Map<string, EncodedResource>();

/** The resource of a record, encoded once for its container (or its host and fields). */
export function resourceOf(record: SidekickRecord): EncodedResource {
  const meta = record.container;
  if (meta !== undefined) {
    let r = byContainer.get(meta);
    if (r === undefined) {
      r = encode(containerAttributes(meta, record.host));
      byContainer.set(meta, r);
    }
    return r;
  }
  const key = record.fields === undefined ? record.host : record.host + '\n' + JSON.stringify(record.fields);
  let r = byHost.get(key);
  if (r === undefined) {
    r = encode(hostAttributes(record.host, record.fields));
    // Hosts and static fields are fixed for a run: a handful of entries at most.
    byHost.set(key, r);
  }
  return r;
}

/** The instrumentation scope of everything sent: sidekick and its version. */
export const SCOPE_NAME = 'sidekick';

export function scopeVersion(): string {
  return version();
}
