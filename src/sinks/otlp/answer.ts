// What an OTLP/HTTP receiver answers, read as the specification asks: a
// success may carry partial_success (how many items it rejected, and why),
// and a failure may carry a google.rpc.Status whose message says why. Both
// come as protobuf or as JSON, by the answer's Content-Type.

/** ExportLogsPartialSuccess / ExportMetricsPartialSuccess: the count rejected and the receiver's message. */
export interface PartialSuccess {
  readonly rejected: number;
  readonly message: string;
}

/** The JSON names of the rejected count of each signal's answer. */
const REJECTED_JSON = { logs: 'rejectedLogRecords', metrics: 'rejectedDataPoints' } as const;

export type Signal = keyof typeof REJECTED_JSON;

function isJson(contentType: string | undefined): boolean {
  return contentType?.toLowerCase().includes('json') === true;
}

/**
 * The partial success of a 2xx answer, or undefined when it has none (or
 * rejected nothing and said nothing). An answer that cannot be read counts
 * as a full success: the receiver said 2xx.
 */
export function partialSuccessOf(body: Buffer, contentType: string | undefined, signal: Signal): PartialSuccess | undefined {
  if (body.length === 0) return undefined;
  let found: PartialSuccess | undefined;
  if (isJson(contentType)) {
    try {
      const answer = JSON.parse(body.toString('utf8')) as { partialSuccess?: Record<string, unknown> };
      const p = answer.partialSuccess;
      if (p !== undefined && p !== null) {
        const rejected = Number(p[REJECTED_JSON[signal]] ?? 0);
        const message = typeof p['errorMessage'] === 'string' ? p['errorMessage'] : '';
        found = { rejected: Number.isFinite(rejected) ? rejected : 0, message };
      }
    } catch {
      return undefined;
    }
  } else {
    const fields = readMessage(body);
    const partial = fields?.get(1);
    if (partial instanceof Buffer) {
      const inner = readMessage(partial);
      const rejected = inner?.get(1);
      const message = inner?.get(2);
      found = { rejected: typeof rejected === 'number' ? rejected : 0, message: message instanceof Buffer ? message.toString('utf8') : '' };
    }
  }
  return found === undefined || (found.rejected === 0 && found.message === '') ? undefined : found;
}

/** The message of a failure's google.rpc.Status (or of its JSON), else the body's start as text. */
export function failureMessage(body: Buffer, contentType: string | undefined): string {
  if (body.length === 0) return '';
  if (isJson(contentType)) {
    try {
      const status = JSON.parse(body.toString('utf8')) as { message?: unknown };
      if (typeof status.message === 'string') return status.message;
    } catch {
      // Not the JSON it says it is: shown as text below.
    }
  } else if (contentType?.toLowerCase().includes('protobuf')) {
    const message = readMessage(body)?.get(2);
    if (message instanceof Buffer) return message.toString('utf8');
  }
  return body.subarray(0, 200).toString('utf8');
}

/**
 * A protobuf message's varint and length-delimited fields, last value each
 * (enough for the two small answers above); undefined when it does not parse.
 */
function readMessage(b: Buffer): Map<number, number | Buffer> | undefined {
  const fields = new Map<number, number | Buffer>();
  let i = 0;
  const varint = (): number | undefined => {
    let n = 0;
    let scale = 1;
    for (let k = 0; k < 10; k++) {
      if (i >= b.length) return undefined;
      const byte = b[i++] as number;
      n += (byte & 0x7f) * scale;
      if (byte < 0x80) return n;
      scale *= 128;
    }
    return undefined;
  };
  while (i < b.length) {
    const key = varint();
    if (key === undefined) return undefined;
    const field = Math.floor(key / 8);
    switch (key % 8) {
      case 0: {
        const v = varint();
        if (v === undefined) return undefined;
        fields.set(field, v);
        break;
      }
      case 1:
        i += 8;
        break;
      case 2: {
        const n = varint();
        if (n === undefined || i + n > b.length) return undefined;
        fields.set(field, b.subarray(i, i + n));
        i += n;
        break;
      }
      case 5:
        i += 4;
        break;
      default:
        return undefined;
    }
  }
  return i === b.length ? fields : undefined;
}
