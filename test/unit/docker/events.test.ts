import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { compareNanos, EventStreamParser, nanosToSince, parseEvent, type DockerEvent } from '../../../src/docker/events.js';

const ID = 'f3c1a0d2b4e5968778695a4b3c2d1e0f1a2b3c4d5e6f708192a3b4c5d6e7f809';
const IMAGE_ID = 'sha256:5cb3aa00f89934411ffba5c063a9bc98ace875d8f92e77d0029543d9f2ef4ad0';

/** As `GET /events` writes a container start (API 1.4x). */
const startLine =
  `{"status":"start","id":"${ID}","from":"nginx:1.27","Type":"container","Action":"start",` +
  `"Actor":{"ID":"${ID}","Attributes":{"com.docker.compose.project":"shop","image":"nginx:1.27",` +
  `"maintainer":"NGINX Docker Maintainers <docker-maint@nginx.com>","name":"web-ünïcødé","note":"café ☕ 🐳"}},` +
  `"scope":"local","time":1700000000,"timeNano":1700000000123456789}`;

const startEvent: DockerEvent = {
  type: 'container',
  action: 'start',
  actorId: ID,
  attributes: {
    'com.docker.compose.project': 'shop',
    image: 'nginx:1.27',
    maintainer: 'NGINX Docker Maintainers <docker-maint@nginx.com>',
    name: 'web-ünïcødé',
    note: 'café ☕ 🐳',
  },
  scope: 'local',
  timeNanos: '1700000000123456789',
};

const pullLine =
  `{"status":"pull","id":"alpine:3.20","Type":"image","Action":"pull","Actor":{"ID":"alpine:3.20",` +
  `"Attributes":{"name":"alpine"}},"scope":"local","time":1700000001,"timeNano":1700000001000000001}`;

const pullEvent: DockerEvent = {
  type: 'image',
  action: 'pull',
  actorId: 'alpine:3.20',
  attributes: { name: 'alpine' },
  scope: 'local',
  timeNanos: '1700000001000000001',
};

const networkLine =
  `{"Type":"network","Action":"connect","Actor":{"ID":"7d6b2a","Attributes":{"container":"${ID}",` +
  `"name":"bridge","type":"bridge"}},"scope":"swarm","time":1700000002,"timeNano":1700000002999999999}`;

const networkEvent: DockerEvent = {
  type: 'network',
  action: 'connect',
  actorId: '7d6b2a',
  attributes: { container: ID, name: 'bridge', type: 'bridge' },
  scope: 'swarm',
  timeNanos: '1700000002999999999',
};

interface Collected {
  readonly events: DockerEvent[];
  readonly malformed: string[];
}

function feed(chunks: readonly Buffer[]): Collected {
  const events: DockerEvent[] = [];
  const malformed: string[] = [];
  const p = new EventStreamParser({ event: (e) => events.push(e), malformed: (l) => malformed.push(l) });
  for (const c of chunks) p.push(c);
  return { events, malformed };
}

describe('parseEvent', () => {
  it('reads a container event with its actor and attributes', () => {
    assert.deepEqual(parseEvent(startLine), startEvent);
  });

  it('keeps timeNano exactly as its digits (a double would round it)', () => {
    const event = parseEvent(startLine);
    assert.equal(event?.timeNanos, '1700000000123456789');
    // What JSON.parse alone would give: the reason for reading the text.
    assert.notEqual(String((JSON.parse(startLine) as { timeNano: number }).timeNano), '1700000000123456789');
  });

  it('reads timeNano with white space after the colon', () => {
    assert.equal(parseEvent(startLine.replace('"timeNano":', '"timeNano": '))?.timeNanos, '1700000000123456789');
  });

  it('takes timeNano, not a label that happens to be called timeNano', () => {
    const line =
      '{"Type":"container","Action":"die","Actor":{"ID":"abc","Attributes":{"timeNano":"5"}},' +
      '"scope":"local","time":1700000003,"timeNano":1700000003000000007}';
    assert.deepEqual(parseEvent(line), {
      type: 'container',
      action: 'die',
      actorId: 'abc',
      attributes: { timeNano: '5' },
      scope: 'local',
      timeNanos: '1700000003000000007',
    });
  });

  it('falls back to status, id and seconds for an event without Action, Actor or timeNano', () => {
    assert.deepEqual(parseEvent('{"status":"stop","id":"abc","Type":"container","time":1700000004}'), {
      type: 'container',
      action: 'stop',
      actorId: 'abc',
      attributes: {},
      scope: 'local',
      timeNanos: '1700000004000000000',
    });
  });

  it('returns undefined for what is not an event', () => {
    for (const line of [
      'not json',
      '[1,2,3]',
      'null',
      '"text"',
      '42',
      '{"Action":"start","timeNano":1}',
      '{"Type":"container","timeNano":1}',
      '{"Type":"container","Action":"start"}',
      '{"Type":7,"Action":"start","timeNano":1}',
      '{"Type":"container","Action":"start","time":"yesterday"}',
    ]) {
      assert.equal(parseEvent(line), undefined, line);
    }
  });
});

describe('EventStreamParser', () => {
  const wire = Buffer.from(`${startLine}\n${pullLine}\r\n\n${networkLine}\n`, 'utf8');

  it('reads one event a line', () => {
    assert.deepEqual(feed([wire]), { events: [startEvent, pullEvent, networkEvent], malformed: [] });
  });

  it('yields the same events when split at every byte offset, even inside a multibyte character', () => {
    for (let cut = 0; cut <= wire.length; cut++) {
      assert.deepEqual(feed([wire.subarray(0, cut), wire.subarray(cut)]), { events: [startEvent, pullEvent, networkEvent], malformed: [] }, `cut at ${cut}`);
    }
  });

  it('yields the same events when fed one byte at a time', () => {
    const chunks: Buffer[] = [];
    for (let i = 0; i < wire.length; i++) chunks.push(wire.subarray(i, i + 1));
    assert.deepEqual(feed(chunks), { events: [startEvent, pullEvent, networkEvent], malformed: [] });
  });

  it('waits for the newline before it emits an event', () => {
    const got = feed([Buffer.from(startLine)]);
    assert.deepEqual(got, { events: [], malformed: [] });
  });

  it('reports malformed lines and goes on with the next', () => {
    const got = feed([Buffer.from(`garbage here\n${startLine}\n{"Type":"container"}\n{"half":\n${pullLine}\n`)]);
    assert.deepEqual(got.events, [startEvent, pullEvent]);
    assert.deepEqual(got.malformed, ['garbage here', '{"Type":"container"}', '{"half":']);
  });

  it('reports at most 200 characters of a malformed line', () => {
    const long = 'x'.repeat(5000);
    assert.deepEqual(feed([Buffer.from(long + '\n')]).malformed, ['x'.repeat(200)]);
  });

  it('drops a line that grows past 1 MiB without a newline, then recovers', () => {
    const events: DockerEvent[] = [];
    const malformed: string[] = [];
    const p = new EventStreamParser({ event: (e) => events.push(e), malformed: (l) => malformed.push(l) });
    p.push(Buffer.alloc(1024 * 1024 + 1, 'y'));
    assert.deepEqual(malformed, ['y'.repeat(200)]);
    p.push(Buffer.from(`\n${startLine}\n`));
    assert.deepEqual(events, [startEvent]);
  });

  it('property: any chunking yields the same events', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(startLine, pullLine, networkLine), { maxLength: 6 }), fc.array(fc.nat(), { maxLength: 12 }), (lines, cutSeeds) => {
        const bytes = Buffer.from(lines.map((l) => l + '\n').join(''), 'utf8');
        const cuts = [...new Set(cutSeeds.map((n) => n % (bytes.length + 1)))].sort((a, b) => a - b);
        const chunks: Buffer[] = [];
        let at = 0;
        for (const c of cuts) {
          chunks.push(bytes.subarray(at, c));
          at = c;
        }
        chunks.push(bytes.subarray(at));
        const byLine: Record<string, DockerEvent> = {
          [startLine]: startEvent,
          [pullLine]: pullEvent,
          [networkLine]: networkEvent,
        };
        assert.deepEqual(feed(chunks), { events: lines.map((l) => byLine[l]!), malformed: [] });
      }),
      { numRuns: 200 },
    );
  });

  it('keeps the image id of an attribute as given', () => {
    const line = `{"Type":"image","Action":"delete","Actor":{"ID":"${IMAGE_ID}","Attributes":{}},"time":1,"timeNano":1000000000}`;
    assert.deepEqual(feed([Buffer.from(line + '\n')]).events, [
      { type: 'image', action: 'delete', actorId: IMAGE_ID, attributes: {}, scope: 'local', timeNanos: '1000000000' },
    ]);
  });
});

describe('compareNanos', () => {
  it('orders decimal nanosecond strings numerically', () => {
    assert.ok(compareNanos('1700000000123456789', '1700000000123456790') < 0);
    assert.ok(compareNanos('1700000000123456790', '1700000000123456789') > 0);
    assert.equal(compareNanos('1700000000123456789', '1700000000123456789'), 0);
    assert.ok(compareNanos('999999999999999999', '1000000000000000000') < 0, 'fewer digits is smaller');
    assert.ok(compareNanos('10', '9') > 0);
  });

  it('property: agrees with BigInt comparison', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 10n ** 20n }), fc.bigInt({ min: 0n, max: 10n ** 20n }), (a, b) => {
        const got = Math.sign(compareNanos(a.toString(), b.toString()));
        assert.equal(got, a < b ? -1 : a > b ? 1 : 0);
      }),
    );
  });
});

describe('nanosToSince', () => {
  it('writes seconds.nanoseconds as the API takes it', () => {
    assert.equal(nanosToSince('1700000000123456789'), '1700000000.123456789');
    assert.equal(nanosToSince('1700000000000000000'), '1700000000.000000000');
    assert.equal(nanosToSince('1000000000'), '1.000000000');
    assert.equal(nanosToSince('999999999'), '0.999999999');
    assert.equal(nanosToSince('5'), '0.000000005');
  });
});
