// syslog+udp://, syslog+tcp://, syslog+tls://: records as syslog messages
// (format.ts) over UDP (udp.ts) or a TCP or TLS stream (stream.ts).

import type { SinkFactory } from '../sink.js';
import { parseSyslogUri, pemFiles } from './options.js';
import { StreamSyslogSink } from './stream.js';
import { UdpSyslogSink } from './udp.js';

export const syslogSink: SinkFactory = {
  usage:
    'syslog+udp://host:514, syslog+tcp://host:514, syslog+tls://host:6514  ?format=rfc5424|rfc3164 ?facility=daemon ?max=2048 (udp) ?ca= ?cert= ?key= ?insecure=true (tls)',
  parse(url, name) {
    const o = parseSyslogUri(url);
    return {
      name,
      scheme: url.protocol.slice(0, -1),
      files: pemFiles(url),
      create: (ctx, files) =>
        o.transport === 'udp'
          ? new UdpSyslogSink(name, o, ctx.events)
          : new StreamSyslogSink(name, { ...o, tls: { ...o.tls, ca: files['ca'], cert: files['cert'], key: files['key'] } }),
    };
  },
};
