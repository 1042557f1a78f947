// The bodies an HTTP sink sends, one per format: ndjson, json (array),
// splunk-hec, elasticsearch (_bulk), loki (push API); and the one answer read
// item by item, Elasticsearch's bulk answer: only its failed records are
// written again.

import { recordId, timeToNanos, type Envelope, type SidekickRecord } from '../../core/record.js';
import { NdjsonBuffer } from '../ndjson.js';
import { SinkError } from '../sink.js';

export const HTTP_FORMATS = ['ndjson', 'json', 'splunk-hec', 'elasticsearch', 'loki'] as const;
export type HttpFormat = (typeof HTTP_FORMATS)[number];

/** What a body's format needs to know. */
export interface FormatOptions {
  readonly format: HttpFormat;
  /** Elasticsearch: the index written to. */
  readonly index: string;
  /** Splunk HEC: the sourcetype. */
  readonly sourcetype: string;
}

export interface Body {
  readonly contentType: string;
  /** The body: NDJSON as bytes (its lines written straight into them), the others as text. */
  readonly text: string | Buffer;
}

/** The NDJSON bodies' lines, written into one buffer kept for every batch of every HTTP sink. */
const ndjsonLines = new NdjsonBuffer();

function sourceOf(r: SidekickRecord): string {
  return r.container?.tag ?? r.container?.name ?? 'sidekick';
}

/** The request body for a batch, in the sink's format. */
export function formatBody(batch: readonly Envelope[], o: FormatOptions): Body {
  switch (o.format) {
    case 'ndjson':
      // A copy: the body is sent while the next batch is made.
      return { contentType: 'application/x-ndjson', text: Buffer.from(ndjsonLines.write(batch)) };
    case 'json':
      return { contentType: 'application/json', text: '[' + batch.map((e) => e.json).join(',') + ']' };
    case 'splunk-hec': {
      let text = '';
      for (const e of batch) {
        const r = e.record;
        const nanos = timeToNanos(r.time) ?? '0000000000';
        const time = nanos.slice(0, -9) + '.' + nanos.slice(-9, -3);
        text +=
          `{"time":${time},"host":${JSON.stringify(r.host)},"source":${JSON.stringify(sourceOf(r))},` +
          `"sourcetype":${JSON.stringify(o.sourcetype)},"event":${e.json}}`;
      }
      return { contentType: 'application/json', text };
    }
    case 'elasticsearch': {
      // Records carry their id as _id: sent again (after a kill, a timeout), they are refused as duplicates (409).
      const action = `{"create":{"_index":${JSON.stringify(o.index)},"_id":"`;
      let text = '';
      for (const e of batch) text += action + recordId(e.record) + '"}}\n' + e.json + '\n';
      return { contentType: 'application/x-ndjson', text };
    }
    case 'loki': {
      const streams = new Map<string, { stream: Record<string, string>; values: [string, string][] }>();
      for (const e of batch) {
        const r = e.record;
        const labels: Record<string, string> = { host: r.host, type: r.type };
        if (r.container !== undefined) labels['container'] = r.container.name;
        const key = `${labels['host']}\u0000${labels['type']}\u0000${labels['container'] ?? ''}`;
        let s = streams.get(key);
        if (s === undefined) {
          s = { stream: labels, values: [] };
          streams.set(key, s);
        }
        s.values.push([timeToNanos(r.time) ?? '0', e.json]);
      }
      return { contentType: 'application/json', text: JSON.stringify({ streams: [...streams.values()] }) };
    }
  }
}

/**
 * A _bulk answer is 200 even when documents failed: each item says. A 409 to
 * `create` is a document whose _id is stored already (sent before a kill or a
 * timeout): delivered. 429 and 5xx may pass later; any other failure never
 * will. Throws a SinkError naming the records of each kind; the others are
 * delivered.
 */
export function checkBulkAnswer(text: string, batch: readonly Envelope[]): void {
  let answer: { errors?: unknown; items?: unknown };
  try {
    answer = JSON.parse(text) as typeof answer;
  } catch {
    return;
  }
  if (answer.errors !== true) return;
  const items = Array.isArray(answer.items) ? (answer.items as unknown[]) : [];
  if (items.length !== batch.length) {
    // Which item is which cannot be told: all of them again (their _id makes it safe).
    throw new SinkError(`bulk: errors, and ${items.length} items for ${batch.length} documents`, 'bulk_item', true);
  }
  const retry: Envelope[] = [];
  const rejected: Envelope[] = [];
  let firstRefusal = '';
  for (let i = 0; i < items.length; i++) {
    const item = Object.values(items[i] ?? {})[0] as { status?: unknown; error?: { type?: unknown } } | undefined;
    const status = typeof item?.status === 'number' ? item.status : 0;
    if (status < 300 || status === 409) continue;
    if (status === 429 || status >= 500) {
      retry.push(batch[i]);
    } else {
      rejected.push(batch[i]);
      if (firstRefusal === '') firstRefusal = `${status} ${typeof item?.error?.type === 'string' ? item.error.type : ''}`.trim();
    }
  }
  if (retry.length === 0 && rejected.length === 0) return;
  throw new SinkError(
    `bulk: of ${batch.length} documents, ${rejected.length} refused${firstRefusal === '' ? '' : ` (first: ${firstRefusal})`}, ${retry.length} to retry`,
    'bulk_item',
    retry.length > 0,
    undefined,
    { retry, rejected },
  );
}
