// inspect: one record a container start with what `docker inspect` says, and
// the metadata (id, name, image, labels, compose) that tags every other record.

import type { ContainerInspectInfo } from 'dockerode';
import { containerMeta, nowTime, type ContainerMeta, type InspectRecord } from '../pipeline/record.js';

export function metaFromInspect(info: ContainerInspectInfo): ContainerMeta {
  return containerMeta(info.Id, info.Name, info.Config?.Image ?? info.Image, info.Config?.Labels);
}

/** Environment values may hold secrets: keep the names, never the values. */
export function redactEnv(info: ContainerInspectInfo): ContainerInspectInfo {
  const env = info.Config?.Env;
  if (!Array.isArray(env)) return info;
  const redacted = env.map((entry) => {
    const eq = entry.indexOf('=');
    return eq < 0 ? entry : entry.slice(0, eq + 1) + '<redacted>';
  });
  return { ...info, Config: { ...info.Config, Env: redacted } };
}

export function inspectRecord(info: ContainerInspectInfo, host: string, meta: ContainerMeta): InspectRecord {
  return { type: 'inspect', time: nowTime(), host, container: meta, inspect: redactEnv(info) };
}
