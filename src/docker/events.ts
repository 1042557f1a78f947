// The body of `GET /events`: one JSON object a line. `timeNano` exceeds what a
// double holds exactly, so it is read from the text before JSON.parse rounds it.

import { StringDecoder } from 'node:string_decoder';

export interface DockerEvent {
  /** container, image, network, volume, daemon, plugin, ... */
  readonly type: string;
  readonly action: string;
  readonly actorId: string;
  readonly attributes: Readonly<Record<string, string>>;
  readonly scope: string;
  /** Nanoseconds since the epoch, as decimal digits. */
  readonly timeNanos: string;
}

export interface EventStreamHandlers {
  event(event: DockerEvent): void;
  malformed(line: string): void;
}

/** A line longer than this is not an event; drop it rather than grow. */
const MAX_LINE = 1024 * 1024;
const TIME_NANO = /"timeNano":\s*(\d+)/;

export class EventStreamParser {
  private rest = '';
  private readonly decoder = new StringDecoder('utf8');

  constructor(private readonly handlers: EventStreamHandlers) {}

  push(chunk: Buffer): void {
    const text = this.rest + this.decoder.write(chunk);
    let at = 0;
    for (;;) {
      const nl = text.indexOf('\n', at);
      if (nl < 0) break;
      const line = text.slice(at, nl).trim();
      if (line !== '') this.line(line);
      at = nl + 1;
    }
    this.rest = text.slice(at);
    if (this.rest.length > MAX_LINE) {
      this.handlers.malformed(this.rest.slice(0, 200));
      this.rest = '';
    }
  }

  private line(line: string): void {
    const event = parseEvent(line);
    if (event === undefined) this.handlers.malformed(line.slice(0, 200));
    else this.handlers.event(event);
  }
}

export function parseEvent(line: string): DockerEvent | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof raw !== 'object' || raw === null) return undefined;
  const o = raw as Record<string, unknown>;
  const actor = (typeof o['Actor'] === 'object' && o['Actor'] !== null ? o['Actor'] : {}) as Record<string, unknown>;
  const type = o['Type'];
  const action = o['Action'] ?? o['status'];
  if (typeof type !== 'string' || typeof action !== 'string') return undefined;
  const nanos = TIME_NANO.exec(line)?.[1] ?? (typeof o['time'] === 'number' ? `${o['time']}000000000` : undefined);
  if (nanos === undefined) return undefined;
  const attrs = actor['Attributes'];
  return {
    type,
    action,
    actorId: typeof actor['ID'] === 'string' ? actor['ID'] : typeof o['id'] === 'string' ? o['id'] : '',
    attributes: typeof attrs === 'object' && attrs !== null ? (attrs as Record<string, string>) : {},
    scope: typeof o['scope'] === 'string' ? o['scope'] : 'local',
    timeNanos: nanos,
  };
}

/** Compares two decimal nanosecond strings. */
export function compareNanos(a: string, b: string): number {
  if (a.length !== b.length) return a.length - b.length;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** `seconds.nanoseconds`, as the API's `since` takes it. */
export function nanosToSince(nanos: string): string {
  const digits = nanos.padStart(10, '0');
  return digits.slice(0, -9) + '.' + digits.slice(-9);
}

/** A container's removal: Docker says `destroy`, Podman `remove`. */
export function removed(action: string): boolean {
  return action === 'destroy' || action === 'remove';
}
