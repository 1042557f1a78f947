// inspect: one record a container start with what `docker inspect` says, and
// the metadata (id, name, image, labels, compose) that tags every other record.

import type { ContainerInspectInfo } from 'dockerode';
import { containerMeta, nowTime, type ContainerMeta, type InspectRecord } from '../../core/record.js';
import { redactEnvEntries, type EnvRedaction } from '../../transforms/redact.js';

export function metaFromInspect(info: ContainerInspectInfo): ContainerMeta {
  return containerMeta(info.Id, info.Name, info.Config?.Image ?? info.Image, info.Config?.Labels);
}

/** Environment values may hold secrets: keep the names, and the values SIDEKICK_REDACT_ENV allows. */
export function redactEnv(info: ContainerInspectInfo, redact: EnvRedaction): ContainerInspectInfo {
  const env = info.Config?.Env;
  if (!Array.isArray(env)) return info;
  return { ...info, Config: { ...info.Config, Env: redactEnvEntries(env, redact) } };
}

export function inspectRecord(info: ContainerInspectInfo, host: string, meta: ContainerMeta, redact: EnvRedaction): InspectRecord {
  return { type: 'inspect', time: nowTime(), host, container: meta, inspect: redactEnv(info, redact) };
}
