// Every setting, given a value it cannot take, stops the real process with
// exit code 2 and a message naming it, before touching Docker. The table must
// name every setting: a new one fails this test until it has a bad value here.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SETTING_NAMES, type SettingName } from '../../src/config/settings.js';
import { Sidekick } from './harness.js';

/** For each setting: the environment that gives it a bad value (with what makes it matter). */
const BAD: Record<SettingName, Record<string, string>> = {
  DOCKER_HOST: { DOCKER_HOST: 'ftp://docker:2375' },
  DOCKER_TLS_VERIFY: { DOCKER_TLS_VERIFY: 'false' },
  DOCKER_CERT_PATH: { DOCKER_CERT_PATH: '/nonexistent/certs', DOCKER_TLS_VERIFY: '1', DOCKER_HOST: 'tcp://127.0.0.1:2376' },
  SIDEKICK_SINKS: { SIDEKICK_SINKS: 'syslog+udp://' },
  SIDEKICK_TYPES: { SIDEKICK_TYPES: 'log,metrics' },
  SIDEKICK_HOSTNAME: { SIDEKICK_HOSTNAME: 'two words' },
  SIDEKICK_LOG_LEVEL: { SIDEKICK_LOG_LEVEL: 'verbose' },
  SIDEKICK_DOCKER_CONCURRENCY: { SIDEKICK_DOCKER_CONCURRENCY: '0' },
  SIDEKICK_STATS_INTERVAL: { SIDEKICK_STATS_INTERVAL: 'often' },
  SIDEKICK_METRICS_ADDR: { SIDEKICK_METRICS_ADDR: 'localhost:99999' },
  SIDEKICK_METRICS_LABELS: { SIDEKICK_METRICS_LABELS: 'team=blue' },
  SIDEKICK_STATE_DIR: { SIDEKICK_STATE_DIR: 'relative/state' },
  SIDEKICK_BACKLOG: { SIDEKICK_BACKLOG: 'tail:many' },
  SIDEKICK_LOGS_SOURCE: { SIDEKICK_LOGS_SOURCE: 'disk' },
  SIDEKICK_MAX_LINE: { SIDEKICK_MAX_LINE: '10 parsecs' },
  SIDEKICK_MULTILINE: { SIDEKICK_MULTILINE: '(unclosed' },
  SIDEKICK_MULTILINE_FLUSH: { SIDEKICK_MULTILINE_FLUSH: '-1s' },
  SIDEKICK_FILES: { SIDEKICK_FILES: 'var/log/*.log' },
  SIDEKICK_FILES_EXCLUDE: { SIDEKICK_FILES: '/var/log/*.log', SIDEKICK_FILES_EXCLUDE: 'old/*.log' },
  SIDEKICK_FILES_SCAN: { SIDEKICK_FILES: '/var/log/*.log', SIDEKICK_FILES_SCAN: '0' },
  SIDEKICK_INCLUDE: { SIDEKICK_INCLUDE: 'nmae:web' },
  SIDEKICK_EXCLUDE: { SIDEKICK_EXCLUDE: 'label:' },
  SIDEKICK_TAG: { SIDEKICK_TAG: '{{.Nope}}' },
  SIDEKICK_FIELDS: { SIDEKICK_FIELDS: 'DEPLOY_ENV' },
  SIDEKICK_STATIC_FIELDS: { SIDEKICK_STATIC_FIELDS: 'dc' },
  SIDEKICK_REDACT_ENV: { SIDEKICK_REDACT_ENV: ',' },
  SIDEKICK_REDACT_PATTERNS: { SIDEKICK_REDACT_PATTERNS: '[a-' },
  SIDEKICK_PARSE_JSON: { SIDEKICK_PARSE_JSON: 'yes' },
  SIDEKICK_TAP: { SIDEKICK_TAP: 'on' },
  SIDEKICK_METRICS_TOKEN: { SIDEKICK_METRICS_TOKEN: 'has spaces in it' },
};

/** Runs sidekick with `env`; resolves with its exit code and stderr. */
async function run(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  // A socket that is not there: a setting that passed would show as a wait for Docker, not an exit.
  const sk = new Sidekick({ DOCKER_HOST: 'unix:///nonexistent/docker.sock', ...env });
  const timer = setTimeout(() => void sk.stop('SIGKILL'), 10_000);
  const { code } = await sk.exit();
  clearTimeout(timer);
  return { code, stderr: sk.stderr };
}

describe('every setting, given a bad value', () => {
  it('has a bad value in this table', () => {
    assert.deepEqual(Object.keys(BAD).sort(), [...SETTING_NAMES].sort());
  });

  it('exits 2 naming the setting, its flag and what it allows, before touching Docker', async () => {
    const names = Object.keys(BAD) as SettingName[];
    const results = new Map<SettingName, { code: number | null; stderr: string }>();
    // A few at a time: each is a short-lived process.
    for (let i = 0; i < names.length; i += 8) {
      const batch = names.slice(i, i + 8);
      const done = await Promise.all(batch.map((n) => run(BAD[n])));
      for (const [j, n] of batch.entries()) results.set(n, done[j]!);
    }
    const wrong: string[] = [];
    for (const [name, r] of results) {
      const flag = `--${name
        .replace(/^SIDEKICK_/, '')
        .toLowerCase()
        .replaceAll('_', '-')}`;
      if (r.code !== 2 || !r.stderr.includes(`${name} (${flag})`) || r.stderr.includes('docker does not answer')) {
        wrong.push(`${name}: exit ${r.code}, ${r.stderr.trim().slice(0, 200)}`);
      }
    }
    assert.deepEqual(wrong, []);
  });

  it('never shows a secret: a sink password, a header value, the metrics token', async () => {
    const r = await run({ SIDEKICK_SINKS: 'https://user:pa55word@siem.example/?header=X-Key:t0p-secret&nope=1', SIDEKICK_METRICS_TOKEN: 'tok en-s3cret' });
    assert.equal(r.code, 2);
    for (const secret of ['pa55word', 't0p-secret', 's3cret']) assert.ok(!r.stderr.includes(secret), `${secret} in ${r.stderr}`);
  });
});
