// Decodes what the OTLP encoders write with a decoder no one here wrote:
// Debian's protoc against the official opentelemetry-proto files (a copy in
// ../shared/otlp-proto), its text format read back into plain objects.

import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The official schemas, beside the project's folder (dist/test/unit/sinks/otlp/ is five below it). */
export const PROTO_DIR = fileURLToPath(new URL('../../../../../../shared/otlp-proto', import.meta.url));

export const LOGS_REQUEST = 'opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest';
export const METRICS_REQUEST = 'opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest';
export const LOGS_RESPONSE = 'opentelemetry.proto.collector.logs.v1.ExportLogsServiceResponse';
export const METRICS_RESPONSE = 'opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceResponse';

const FILES: Record<string, string> = {
  [LOGS_REQUEST]: 'opentelemetry/proto/collector/logs/v1/logs_service.proto',
  [LOGS_RESPONSE]: 'opentelemetry/proto/collector/logs/v1/logs_service.proto',
  [METRICS_REQUEST]: 'opentelemetry/proto/collector/metrics/v1/metrics_service.proto',
  [METRICS_RESPONSE]: 'opentelemetry/proto/collector/metrics/v1/metrics_service.proto',
};

/** A decoded message: each field's values in order (a repeated field has several). */
export interface Decoded {
  readonly [field: string]: Array<string | number | Decoded>;
}

/** protoc --decode of `bytes` as `type`, in protobuf's text format. Throws with protoc's complaint when it does not parse. */
export function decodeText(bytes: Uint8Array, type: string): string {
  const file = FILES[type];
  if (file === undefined) throw new Error(`no schema file known for ${type}`);
  return execFileSync('protoc', [`--decode=${type}`, '-I', PROTO_DIR, file], { input: bytes, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
}

/** protoc --encode of text format, for answers a test receiver sends. */
export function encodeText(text: string, type: string): Buffer {
  const file = FILES[type];
  if (file === undefined) throw new Error(`no schema file known for ${type}`);
  return execFileSync('protoc', [`--encode=${type}`, '-I', PROTO_DIR, file], { input: text, maxBuffer: 256 * 1024 * 1024 });
}

export function decode(bytes: Uint8Array, type: string): Decoded {
  return parseText(decodeText(bytes, type));
}

/**
 * protoc's text format as objects: `name: value` and `name { … }`. Strings
 * are C-escaped bytes (octal for non-ASCII), decoded as UTF-8; numbers stay
 * numbers when exact, else their digits; enum names stay names.
 */
export function parseText(text: string): Decoded {
  let i = 0;
  const skipSpace = (): void => {
    while (i < text.length && /\s/.test(text[i] as string)) i++;
  };
  const message = (): Decoded => {
    const out: Record<string, Array<string | number | Decoded>> = {};
    for (;;) {
      skipSpace();
      if (i >= text.length || text[i] === '}') return out;
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i, i + 200));
      if (m === null) throw new Error(`text format: unexpected ${JSON.stringify(text.slice(i, i + 40))}`);
      const name = m[0];
      i += name.length;
      skipSpace();
      let value: string | number | Decoded;
      if (text[i] === '{') {
        i++;
        value = message();
        skipSpace();
        if (text[i] !== '}') throw new Error('text format: unclosed message');
        i++;
      } else {
        if (text[i] !== ':') throw new Error(`text format: expected ':' after ${name}`);
        i++;
        skipSpace();
        value = text[i] === '"' ? quoted() : scalar();
      }
      const values = out[name] ?? [];
      values.push(value);
      out[name] = values;
    }
  };
  const quoted = (): string => {
    i++;
    const bytes: number[] = [];
    while (text[i] !== '"') {
      const c = text[i] as string;
      if (c !== '\\') {
        bytes.push(...Buffer.from(c, 'utf8'));
        i++;
        continue;
      }
      const e = text[i + 1] as string;
      if (/[0-7]/.test(e)) {
        const digits = /^[0-7]{1,3}/.exec(text.slice(i + 1, i + 4))?.[0] as string;
        bytes.push(parseInt(digits, 8));
        i += 1 + digits.length;
        continue;
      }
      if (e === 'x') {
        const digits = /^[0-9a-fA-F]{1,2}/.exec(text.slice(i + 2, i + 4))?.[0] as string;
        bytes.push(parseInt(digits, 16));
        i += 2 + digits.length;
        continue;
      }
      const simple: Record<string, number> = { n: 10, r: 13, t: 9, '"': 34, "'": 39, '\\': 92, a: 7, b: 8, f: 12, v: 11 };
      const b = simple[e];
      if (b === undefined) throw new Error(`text format: unknown escape \\${e}`);
      bytes.push(b);
      i += 2;
    }
    i++;
    return Buffer.from(bytes).toString('utf8');
  };
  const scalar = (): string | number => {
    const m = /^[^\s}]+/.exec(text.slice(i, i + 400));
    if (m === null) throw new Error('text format: missing value');
    i += m[0].length;
    const raw = m[0];
    if (/^-?\d+$/.test(raw)) return Number.isSafeInteger(Number(raw)) ? Number(raw) : raw;
    if (/^-?(\d+\.?\d*(e[-+]?\d+)?|inf|nan)$/i.test(raw)) return Number(raw.replace(/^(-?)inf$/i, '$1Infinity'));
    return raw;
  };
  const out = message();
  skipSpace();
  if (i < text.length) throw new Error(`text format: trailing ${JSON.stringify(text.slice(i, i + 40))}`);
  return out;
}
