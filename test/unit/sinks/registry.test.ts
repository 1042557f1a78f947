import assert from 'node:assert/strict';
import { sinkContext } from './context.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { httpSink } from '../../../src/sinks/http/sink.js';
import { configureSink, SINKS } from '../../../src/sinks/registry.js';
import { checkQueryKeys, displayUri, SinkUriError } from '../../../src/sinks/sink.js';

function uriError(raw: string): SinkUriError {
  try {
    configureSink(raw);
  } catch (err) {
    assert.ok(err instanceof SinkUriError, `a SinkUriError, not ${String(err)}`);
    return err;
  }
  assert.fail(`no error for ${raw}`);
}

describe('configureSink', () => {
  it("parses 'stdout://'", () => {
    const spec = configureSink('stdout://');
    assert.equal(spec.scheme, 'stdout');
    assert.equal(spec.name, 'stdout://');
    const sink = spec.create(sinkContext());
    assert.equal(sink.name, 'stdout://');
  });

  it("accepts 'stdout:///' too", () => {
    assert.equal(configureSink('stdout:///').scheme, 'stdout');
  });

  it('lists the allowed schemes for an unknown one', () => {
    const err = uriError('nope://x');
    assert.match(err.message, /unknown scheme "nope"/);
    assert.ok(Object.keys(SINKS).length > 0);
    for (const scheme of Object.keys(SINKS)) assert.ok(err.message.includes(scheme), `${scheme} in ${err.message}`);
    assert.ok(err.message.includes('stdout'));
  });

  it('refuses what is not a URI', () => {
    assert.match(uriError('stdout').message, /not a URI/);
    assert.match(uriError('').message, /not a URI/);
  });

  it('refuses an unknown option, naming it', () => {
    const err = uriError('stdout://?typo=1');
    assert.match(err.message, /typo/);
    assert.equal(err.display, 'stdout://?typo=1');
  });

  it("takes every sink's options before the sink's own parse (stdout:// takes none of its own)", () => {
    const spec = configureSink('stdout://?buffer=2MiB&buffer_records=5&policy=block&types=log&include=name:web*&exclude=label:tier%3Dtest');
    assert.deepEqual(spec.buffer, { kind: 'memory', bytes: 2 * 1024 * 1024, records: 5, policy: 'block' });
    assert.deepEqual(spec.route.types, new Set(['log']));
  });

  it('takes a disk buffer, in a folder named after where the sink sends (its own options), not its shared ones', () => {
    const spec = configureSink('http://u:secret@siem:8080/in?buffer=disk&disk=2GiB&policy=drop-newest&types=log&gzip=true');
    assert.equal(spec.buffer.kind, 'disk');
    if (spec.buffer.kind !== 'disk') return;
    assert.equal(spec.buffer.bytes, 2 * 1024 ** 3);
    assert.equal(spec.buffer.policy, 'drop-newest');
    assert.match(spec.buffer.key, /^u-siem-8080-in-gzip-true-[0-9a-f]{12}$/);
    assert.doesNotMatch(spec.buffer.key, /secret/);
    const again = configureSink('http://u:secret@siem:8080/in?gzip=true&buffer=disk&types=event');
    assert.equal(again.buffer.kind === 'disk' && again.buffer.key, spec.buffer.key, 'the same folder with other shared options');
    const other = configureSink('http://u:secret@siem:8080/in?buffer=disk');
    assert.notEqual(other.buffer.kind === 'disk' && other.buffer.key, spec.buffer.key);
    assert.equal((configureSink('stdout://?buffer=disk').buffer as { bytes: number }).bytes, 1024 ** 3, 'disk= defaults to 1GiB');
  });

  it('refuses disk options that do not fit', () => {
    assert.match(uriError('stdout://?disk=1GiB').message, /disk=1GiB: only with buffer=disk/);
    assert.match(uriError('stdout://?buffer=disk&disk=10KiB').message, /disk=10KiB: a size of at least 1MiB/);
    assert.match(uriError('stdout://?buffer=disk&buffer_records=5').message, /buffer_records=5: only for a buffer in memory/);
    assert.match(uriError('stdout://?buffer=dsk').message, /buffer=dsk: disk, or a size/);
  });

  it('refuses a host or path on stdout://', () => {
    assert.throws(() => configureSink('stdout://somewhere'), SinkUriError);
    assert.throws(() => configureSink('stdout:///dev/null'), SinkUriError);
  });

  it('never shows a password in the error', () => {
    for (const raw of [
      'stdout://user:secret@/',
      'stdout://user:secret@host/',
      'nope://user:secret@host/',
      'https://user:secret/Tok3n+x==@logs.example.com/',
      'http://user:sec:ret@/',
    ]) {
      const err = uriError(raw);
      assert.ok(!err.display.includes('secret') && !err.display.includes('sec:ret'), `${raw} -> ${err.display}`);
      assert.ok(!err.message.includes('secret') && !err.message.includes('sec:ret'), `${raw} -> ${err.message}`);
    }
  });
});

describe('the files a sink URI names', () => {
  let dir = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'sidekick-sink-pem-'));
    writeFileSync(join(dir, 'ca.pem'), 'CA PEM\n');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('are named by the factory without being read', () => {
    const missing = join(dir, 'missing.pem');
    const spec = httpSink.parse(new URL(`https://h/?ca=${missing}`), 'https://h/');
    assert.deepEqual(spec.files, { ca: missing });
  });

  it('are read by configureSink: one that cannot be read is an error naming the option and the path', () => {
    const missing = join(dir, 'missing.pem');
    for (const uri of [`https://h/?ca=${missing}`, `syslog+tls://h?ca=${join(dir, 'ca.pem')}&key=${missing}`]) {
      const err = uriError(uri);
      assert.ok(err.message.includes(`=${missing}: cannot read: `), err.message);
    }
    assert.equal(configureSink(`syslog+tls://h?ca=${join(dir, 'ca.pem')}`).scheme, 'syslog+tls');
  });
});

describe('displayUri', () => {
  it('masks the password', () => {
    assert.equal(displayUri(new URL('https://user:pa55word@logs.example.com:8443/in')), 'https://user:***@logs.example.com:8443/in');
  });

  it('masks ?header= and ?token= values and keeps the other options', () => {
    const shown = displayUri(new URL('https://logs.example.com/in?header=Authorization%3A%20Bearer%20abc123&token=t0k3n&format=ndjson&TOKEN=up'));
    assert.ok(!shown.includes('abc123'), shown);
    assert.ok(!shown.includes('Bearer'), shown);
    assert.ok(!shown.includes('t0k3n'), shown);
    assert.ok(!shown.includes('=up'), shown);
    const q = new URL(shown).searchParams;
    assert.equal(q.get('header'), '***');
    assert.equal(q.get('token'), '***');
    assert.equal(q.get('TOKEN'), '***');
    assert.equal(q.get('format'), 'ndjson');
  });

  it('masks every value of a repeated secret option', () => {
    const shown = displayUri(new URL('https://h/?header=A%3A1&header=B%3A2'));
    assert.ok(!shown.includes('A%3A1') && !shown.includes('B%3A2'), shown);
  });

  it('leaves a URI without secrets as it is, and does not change its input', () => {
    const url = new URL('https://user:pw@h/?token=x');
    displayUri(url);
    assert.equal(url.href, 'https://user:pw@h/?token=x');
    assert.equal(displayUri(new URL('stdout://')), 'stdout://');
    assert.equal(displayUri(new URL('https://h/p?format=ndjson')), 'https://h/p?format=ndjson');
  });
});

describe('checkQueryKeys', () => {
  it('accepts allowed keys and names an unknown one with the allowed list', () => {
    checkQueryKeys(new URL('x://h/?a=1&b=2'), ['a', 'b']);
    assert.throws(() => checkQueryKeys(new URL('x://h/?a=1&c=2'), ['a', 'b']), /unknown option "c"; allowed: a, b/);
    assert.throws(() => checkQueryKeys(new URL('x://h/?a=1'), []), /allowed: \(none\)/);
  });
});
