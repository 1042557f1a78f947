// What a syslog sink URI says, validated (no I/O): transport, host and port,
// format, facility, the UDP datagram limit, and the TLS files it names.

import { checkQueryKeys } from '../sink.js';

export const FACILITIES: Readonly<Record<string, number>> = {
  kern: 0,
  user: 1,
  mail: 2,
  daemon: 3,
  auth: 4,
  syslog: 5,
  lpr: 6,
  news: 7,
  uucp: 8,
  cron: 9,
  authpriv: 10,
  ftp: 11,
  local0: 16,
  local1: 17,
  local2: 18,
  local3: 19,
  local4: 20,
  local5: 21,
  local6: 22,
  local7: 23,
};

const DEFAULT_UDP_MAX = 2048;

export type SyslogFormat = 'rfc5424' | 'rfc3164';

export interface SyslogOptions {
  readonly transport: 'udp' | 'tcp' | 'tls';
  readonly host: string;
  readonly port: number;
  readonly format: SyslogFormat;
  readonly facility: number;
  /** UDP: the largest datagram sent. */
  readonly max: number;
  readonly tls: { readonly ca?: Buffer; readonly cert?: Buffer; readonly key?: Buffer; readonly insecure: boolean };
}

export function parseSyslogUri(url: URL): SyslogOptions {
  const transport = url.protocol.slice('syslog+'.length, -1) as SyslogOptions['transport'];
  const tlsKeys = transport === 'tls' ? ['ca', 'cert', 'key', 'insecure'] : [];
  checkQueryKeys(url, ['format', 'facility', ...(transport === 'udp' ? ['max'] : []), ...tlsKeys]);
  const q = url.searchParams;
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (host === '') throw new Error('needs a host: syslog+udp://host:514');
  const port = url.port === '' ? (transport === 'tls' ? 6514 : 514) : Number(url.port);
  const format = q.get('format') ?? 'rfc5424';
  if (format !== 'rfc5424' && format !== 'rfc3164') throw new Error(`format=${format}: allowed: rfc5424, rfc3164`);
  const facilityName = q.get('facility') ?? 'daemon';
  const facility = FACILITIES[facilityName] ?? (/^\d+$/.test(facilityName) ? Number(facilityName) : undefined);
  if (facility === undefined || facility > 23) {
    throw new Error(`facility=${facilityName}: allowed: ${Object.keys(FACILITIES).join(', ')} or 0-23`);
  }
  const maxText = q.get('max');
  const max = maxText === null ? DEFAULT_UDP_MAX : Number(maxText);
  if (!Number.isInteger(max) || max < 480 || max > 65_000) throw new Error(`max=${maxText}: a number of bytes from 480 to 65000`);
  const insecure = q.get('insecure');
  if (insecure !== null && insecure !== 'true' && insecure !== 'false') {
    throw new Error(`insecure=${insecure}: allowed: true, false`);
  }
  return {
    transport,
    host,
    port,
    format,
    facility,
    max,
    tls: { insecure: insecure === 'true' },
  };
}

/** The PEM files a syslog+tls URI names (checkQueryKeys refuses them on udp and tcp). */
export function pemFiles(url: URL): Record<string, string> {
  const files: Record<string, string> = {};
  for (const option of ['ca', 'cert', 'key']) {
    const path = url.searchParams.get(option);
    if (path !== null) files[option] = path;
  }
  return files;
}
