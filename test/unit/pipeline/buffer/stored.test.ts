// A record read back from a disk buffer looks to every sink as the record it
// was: the same JSON, the same id, the same syslog message and HTTP bodies.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { containerMeta, envelope, recordId, type Envelope, type SidekickRecord } from '../../../../src/core/record.js';
import { storedEnvelope } from '../../../../src/pipeline/buffer/disk/stored.js';
import { HTTP_FORMATS, formatBody } from '../../../../src/sinks/http/formats.js';
import { formatSyslog } from '../../../../src/sinks/syslog/format.js';
import { filePositions } from '../../../../src/sources/files/position.js';
import { logPositions } from '../../../../src/sources/docker/log-position.js';

const T = '2026-03-04T05:06:07.123456789Z';
const plain = containerMeta('a'.repeat(64), '/web', 'nginx:1', { app: 'shop' });
const tagged = {
  ...containerMeta('b'.repeat(64), '/db', 'postgres', { 'com.docker.compose.project': 'p', 'com.docker.compose.service': 'db' }),
  tag: 'p/db',
  fields: { env: 'prod' },
};
const file = { path: '/logs/app.log', dev: 1, ino: 2, fingerprint: 'f'.repeat(40), generation: 1 };

const records: SidekickRecord[] = [
  { type: 'log', position: logPositions, time: T, host: 'h', container: plain, stream: 'stdout', seq: 3, message: 'hello "world" \u00e9' },
  {
    type: 'log',
    position: logPositions,
    time: T,
    host: 'h',
    container: tagged,
    stream: 'stderr',
    seq: 1,
    message: '{"level":"warn"}',
    json: true,
    truncated: true,
  },
  { type: 'file', position: filePositions, time: T, host: 'h', container: tagged, path: file.path, message: 'a file line', file, start: 120, end: 133 },
  {
    type: 'event',
    time: T,
    host: 'h',
    container: plain,
    object: 'container',
    action: 'start',
    actor: { id: plain.id, attributes: { name: 'web' } },
    scope: 'local',
  },
  { type: 'event', time: T, host: 'h', fields: { site: 'x' }, object: 'image', action: 'pull', actor: { id: 'nginx:1', attributes: {} }, scope: 'local' },
  { type: 'inspect', time: T, host: 'h', container: tagged, inspect: { State: { StartedAt: T }, Config: { Env: ['A=***'] } } },
  {
    type: 'stats',
    time: T,
    host: 'h',
    container: plain,
    stats: {
      cpu_percent: 1.5,
      cpu_seconds: 2,
      memory: { usage: 1, raw_usage: 2, limit: 3, percent: 33.3 },
      network: { eth0: { rx_bytes: 1 } },
      blkio: { read_bytes: 0, write_bytes: 4 },
      pids: 2,
    },
  },
  { type: 'gap', time: T, host: 'h', container: plain, dropped: 7, from: T, to: T, reason: 'buffer_full' },
];

describe('storedEnvelope', () => {
  for (const r of records) {
    it(`gives back a ${r.type} record${r.container?.tag !== undefined ? ' with a tag and fields' : ''} as sinks saw it`, () => {
      const e = envelope(r);
      const back = storedEnvelope(e.json);
      assert.ok(back !== undefined);
      assert.equal(back.json, e.json);
      assert.equal(recordId(back.record), recordId(r));
      assert.equal(back.record.position, undefined, 'no position: the source has moved past it');
      for (const format of ['rfc5424', 'rfc3164'] as const) assert.equal(formatSyslog(back, format, 3), formatSyslog(e, format, 3), format);
      for (const format of HTTP_FORMATS) {
        const o = { format, index: 'i', sourcetype: 's' };
        assert.deepEqual(formatBody([back as Envelope], o), formatBody([e], o), format);
      }
    });
  }

  it('refuses what is not a record line', () => {
    for (const text of ['', 'not json', '[]', 'null', '{"type":"log"}', '{"id":"x"}']) assert.equal(storedEnvelope(text), undefined, text);
  });
});
