// event: every event of the Docker daemon (containers, images, networks,
// volumes, ...) as a record, typed by Docker's own event type.

import type { DockerEvent } from '../../docker/events.js';
import { containerMeta, nanosToTime, type ContainerMeta, type EventRecord } from '../../core/record.js';

export function eventRecord(event: DockerEvent, host: string, meta: ContainerMeta | undefined): EventRecord {
  const base = {
    type: 'event' as const,
    time: nanosToTime(event.timeNanos),
    host,
    object: event.type,
    action: event.action,
    actor: { id: event.actorId, attributes: event.attributes },
    scope: event.scope,
  };
  return meta === undefined ? base : { ...base, container: meta };
}

/**
 * Metadata from the event itself, for a container sidekick could not inspect
 * (removed already). Its labels are mixed into the attributes with Docker's
 * own keys, so only name and image are taken.
 */
export function metaFromEvent(event: DockerEvent): ContainerMeta {
  return containerMeta(event.actorId, event.attributes['name'] ?? '', event.attributes['image'] ?? '', {});
}
