// Redaction of env values and of patterns in messages.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseEnvRedaction, parseRedactPatterns, redactEnvEntries, redactText } from '../../../src/transforms/redact.js';

describe('parseRedactPatterns', () => {
  it('masks the presets', () => {
    const re = parseRedactPatterns('bearer,card,aws,password');
    assert.equal(redactText('Authorization: Bearer eyJhbGciOi.J9x-_y', re), 'Authorization: Bearer <redacted>');
    assert.equal(redactText('paid with 4111 1111 1111 1111 today', re), 'paid with <redacted> today');
    assert.equal(redactText('card=4111111111111111;', re), 'card=<redacted>;');
    assert.equal(redactText('key AKIAIOSFODNN7EXAMPLE used', re), 'key <redacted> used');
    assert.equal(redactText('login password=hunter2 ok', re), 'login password=<redacted> ok');
    assert.equal(redactText('{"password": "hunter2"}', re), '{"password": "<redacted>"}');
    assert.equal(redactText('order 12345 shipped', re), 'order 12345 shipped', 'short numbers stay');
  });

  it('takes regexes whose counts hold commas, beside presets', () => {
    const re = parseRedactPatterns(String.raw`\bssn=\d{3}-\d{2}-\d{4}\b, bearer`);
    assert.equal(redactText('ssn=123-45-6789 Bearer abc', re), '<redacted> Bearer <redacted>');
  });

  it('is nothing for an empty list, and names a pattern that does not compile', () => {
    assert.equal(parseRedactPatterns(' '), undefined);
    assert.equal(redactText('as is', undefined), 'as is');
    assert.throws(() => parseRedactPatterns('ok,(unclosed'), /"\(unclosed": .*; or one of bearer/);
  });
});

describe('env redaction', () => {
  const env = ['PATH=/bin', 'DB_PASSWORD=s3cret', 'api_token=abc', 'NOEQUALS'];
  it('all, none, or by name globs (any case)', () => {
    assert.deepEqual(redactEnvEntries(env, parseEnvRedaction('all')), ['PATH=<redacted>', 'DB_PASSWORD=<redacted>', 'api_token=<redacted>', 'NOEQUALS']);
    assert.deepEqual(redactEnvEntries(env, parseEnvRedaction('none')), env);
    assert.deepEqual(redactEnvEntries(env, parseEnvRedaction('*PASSWORD*,*TOKEN*')), [
      'PATH=/bin',
      'DB_PASSWORD=<redacted>',
      'api_token=<redacted>',
      'NOEQUALS',
    ]);
    assert.throws(() => parseEnvRedaction(','), /all, none/);
  });
});
