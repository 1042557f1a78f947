import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ConfigError, helpText, loadConfig, type Config } from '../../../src/config/load.js';

const VARIABLES = [
  'DOCKER_HOST',
  'DOCKER_TLS_VERIFY',
  'DOCKER_CERT_PATH',
  'SIDEKICK_SINKS',
  'SIDEKICK_TYPES',
  'SIDEKICK_HOSTNAME',
  'SIDEKICK_LOG_LEVEL',
  'SIDEKICK_DOCKER_CONCURRENCY',
];

function run(argv: readonly string[], env: NodeJS.ProcessEnv = {}): Config {
  const result = loadConfig(argv, env);
  assert.equal(result.kind, 'run');
  if (result.kind !== 'run') throw new Error('unreachable');
  return result.config;
}

function configError(argv: readonly string[], env: NodeJS.ProcessEnv): ConfigError {
  try {
    loadConfig(argv, env);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `a ConfigError, not ${String(err)}`);
    return err;
  }
  assert.fail(`no error for ${JSON.stringify({ argv, env })}`);
}

let emptyDir = '';
let certDir = '';
const pem = { 'ca.pem': 'CA PEM\n', 'cert.pem': 'CERT PEM\n', 'key.pem': 'KEY PEM\n' };

before(() => {
  emptyDir = mkdtempSync(join(tmpdir(), 'sidekick-nocerts-'));
  certDir = mkdtempSync(join(tmpdir(), 'sidekick-certs-'));
  for (const [file, text] of Object.entries(pem)) writeFileSync(join(certDir, file), text);
});

after(() => {
  rmSync(emptyDir, { recursive: true, force: true });
  rmSync(certDir, { recursive: true, force: true });
});

describe('loadConfig', () => {
  it('has defaults for everything', () => {
    const c = run([], {});
    assert.deepEqual(c.docker, { socketPath: '/var/run/docker.sock' });
    assert.equal(c.dockerHost, 'unix:///var/run/docker.sock');
    assert.deepEqual(
      c.sinks.map((s) => [s.scheme, s.name]),
      [['stdout', 'stdout://']],
    );
    assert.deepEqual(c.types, new Set(['log', 'event', 'inspect', 'stats', 'file']));
    assert.equal(c.files, undefined, 'no files unless SIDEKICK_FILES names some');
    assert.equal(c.hostname, undefined);
    assert.equal(c.logLevel, 'info');
    assert.equal(c.dockerConcurrency, 16);
    assert.ok(Object.isFrozen(c));
  });

  it('treats an empty variable as unset', () => {
    const c = run([], { SIDEKICK_LOG_LEVEL: '', SIDEKICK_TYPES: '', DOCKER_HOST: '' });
    assert.equal(c.logLevel, 'info');
    assert.equal(c.types.size, 5);
    assert.equal(c.dockerHost, 'unix:///var/run/docker.sock');
  });

  it('reads every setting from the environment', () => {
    const c = run([], {
      DOCKER_HOST: 'unix:///run/user/1000/docker.sock',
      SIDEKICK_SINKS: 'stdout://',
      SIDEKICK_TYPES: ' log , event ',
      SIDEKICK_HOSTNAME: 'node-7.example.com',
      SIDEKICK_LOG_LEVEL: 'debug',
      SIDEKICK_DOCKER_CONCURRENCY: '4',
    });
    assert.deepEqual(c.docker, { socketPath: '/run/user/1000/docker.sock' });
    assert.deepEqual(c.types, new Set(['log', 'event']));
    assert.equal(c.hostname, 'node-7.example.com');
    assert.equal(c.logLevel, 'debug');
    assert.equal(c.dockerConcurrency, 4);
  });

  it('reads the file globs, exclusions and scan interval', () => {
    const c = run(['--files', '/var/log/app/*.log, /data/**/*.json'], { SIDEKICK_FILES_EXCLUDE: '*.old', SIDEKICK_FILES_SCAN: '2s' });
    assert.deepEqual(c.files, { include: ['/var/log/app/*.log', '/data/**/*.json'], exclude: ['*.old'], scanMs: 2000 });
    assert.deepEqual(run([], { SIDEKICK_FILES: '/x/*.log' }).files?.exclude, ['*.gz', '*.[0-9]']);
  });

  it('lets a flag win over the variable', () => {
    const env = {
      DOCKER_HOST: 'unix:///from/env.sock',
      SIDEKICK_TYPES: 'log',
      SIDEKICK_HOSTNAME: 'from-env',
      SIDEKICK_LOG_LEVEL: 'debug',
      SIDEKICK_DOCKER_CONCURRENCY: '4',
    };
    const c = run(
      ['--docker-host', 'unix:///from/flag.sock', '--types=event,inspect', '--hostname', 'from-flag', '--log-level=warn', '--docker-concurrency', '32'],
      env,
    );
    assert.deepEqual(c.docker, { socketPath: '/from/flag.sock' });
    assert.deepEqual(c.types, new Set(['event', 'inspect']));
    assert.equal(c.hostname, 'from-flag');
    assert.equal(c.logLevel, 'warn');
    assert.equal(c.dockerConcurrency, 32);
    assert.equal(run([], env).logLevel, 'debug', 'without the flag, the variable');
  });

  it('reads the settings for --healthcheck, to ask the same address', () => {
    const r = loadConfig(['--healthcheck'], { SIDEKICK_METRICS_ADDR: '127.0.0.1:9999' });
    assert.equal(r.kind, 'healthcheck');
    assert.deepEqual(r.kind === 'healthcheck' ? r.config.metricsAddr : undefined, { host: '127.0.0.1', port: 9999 });
  });

  it('answers --help and --version without reading the settings', () => {
    const bad = { SIDEKICK_LOG_LEVEL: 'loud' };
    assert.deepEqual(loadConfig(['--help'], bad), { kind: 'help' });
    assert.deepEqual(loadConfig(['--version'], bad), { kind: 'version' });
  });

  it('accepts the ends of the concurrency range', () => {
    assert.equal(run([], { SIDEKICK_DOCKER_CONCURRENCY: '1' }).dockerConcurrency, 1);
    assert.equal(run([], { SIDEKICK_DOCKER_CONCURRENCY: '1024' }).dockerConcurrency, 1024);
  });

  describe('rejects a bad value with a ConfigError naming the variable', () => {
    const cases: { name: string; argv?: string[]; env?: NodeJS.ProcessEnv; variable: string; value?: string }[] = [
      { name: 'DOCKER_HOST of another scheme', env: { DOCKER_HOST: 'ftp://x' }, variable: 'DOCKER_HOST', value: 'ftp://x' },
      { name: 'DOCKER_HOST with a relative socket', env: { DOCKER_HOST: 'unix://relative' }, variable: 'DOCKER_HOST', value: 'unix://relative' },
      { name: 'DOCKER_HOST without a host', env: { DOCKER_HOST: 'tcp://' }, variable: 'DOCKER_HOST' },
      { name: 'SIDEKICK_TYPES with an unknown type', env: { SIDEKICK_TYPES: 'log,nope' }, variable: 'SIDEKICK_TYPES', value: 'nope' },
      { name: 'SIDEKICK_TYPES with no type', env: { SIDEKICK_TYPES: ',' }, variable: 'SIDEKICK_TYPES' },
      { name: '--types with an unknown type', argv: ['--types', 'logs'], variable: 'SIDEKICK_TYPES', value: 'logs' },
      { name: 'SIDEKICK_LOG_LEVEL unknown', env: { SIDEKICK_LOG_LEVEL: 'loud' }, variable: 'SIDEKICK_LOG_LEVEL', value: 'loud' },
      { name: 'SIDEKICK_DOCKER_CONCURRENCY 0', env: { SIDEKICK_DOCKER_CONCURRENCY: '0' }, variable: 'SIDEKICK_DOCKER_CONCURRENCY', value: '0' },
      { name: 'SIDEKICK_DOCKER_CONCURRENCY abc', env: { SIDEKICK_DOCKER_CONCURRENCY: 'abc' }, variable: 'SIDEKICK_DOCKER_CONCURRENCY', value: 'abc' },
      { name: 'SIDEKICK_DOCKER_CONCURRENCY 2000', env: { SIDEKICK_DOCKER_CONCURRENCY: '2000' }, variable: 'SIDEKICK_DOCKER_CONCURRENCY', value: '2000' },
      { name: 'SIDEKICK_DOCKER_CONCURRENCY 1.5', env: { SIDEKICK_DOCKER_CONCURRENCY: '1.5' }, variable: 'SIDEKICK_DOCKER_CONCURRENCY', value: '1.5' },
      { name: 'SIDEKICK_DOCKER_CONCURRENCY -1', env: { SIDEKICK_DOCKER_CONCURRENCY: '-1' }, variable: 'SIDEKICK_DOCKER_CONCURRENCY' },
      { name: 'SIDEKICK_HOSTNAME with a space', env: { SIDEKICK_HOSTNAME: 'bad host' }, variable: 'SIDEKICK_HOSTNAME', value: 'bad host' },
      { name: '--hostname empty', argv: ['--hostname='], variable: 'SIDEKICK_HOSTNAME' },
      { name: 'SIDEKICK_SINKS of an unknown scheme', env: { SIDEKICK_SINKS: 'nope://x' }, variable: 'SIDEKICK_SINKS', value: 'nope' },
      { name: 'SIDEKICK_SINKS with an unknown option', env: { SIDEKICK_SINKS: 'stdout://?typo=1' }, variable: 'SIDEKICK_SINKS', value: 'typo' },
      { name: 'SIDEKICK_SINKS with only commas', env: { SIDEKICK_SINKS: ',,' }, variable: 'SIDEKICK_SINKS' },
      { name: 'SIDEKICK_SINKS that is not a URI', env: { SIDEKICK_SINKS: 'stdout' }, variable: 'SIDEKICK_SINKS' },
      { name: 'one bad sink among good ones', env: { SIDEKICK_SINKS: 'stdout://,nope://x' }, variable: 'SIDEKICK_SINKS', value: 'nope' },
      { name: 'SIDEKICK_FILES with a relative glob', env: { SIDEKICK_FILES: '/ok/*.log,logs/*.log' }, variable: 'SIDEKICK_FILES', value: 'logs/*.log' },
      { name: 'SIDEKICK_FILES_SCAN too short', env: { SIDEKICK_FILES: '/a/*.log', SIDEKICK_FILES_SCAN: '1ms' }, variable: 'SIDEKICK_FILES_SCAN', value: '1ms' },
      {
        name: 'SIDEKICK_FILES_SCAN not a duration',
        env: { SIDEKICK_FILES: '/a/*.log', SIDEKICK_FILES_SCAN: 'often' },
        variable: 'SIDEKICK_FILES_SCAN',
        value: 'often',
      },
      {
        name: 'SIDEKICK_FILES with SIDEKICK_TYPES lacking file',
        env: { SIDEKICK_FILES: '/a/*.log', SIDEKICK_TYPES: 'log' },
        variable: 'SIDEKICK_TYPES',
        value: 'log',
      },
      { name: 'SIDEKICK_INCLUDE with a bad matcher', env: { SIDEKICK_INCLUDE: 'nmae:web' }, variable: 'SIDEKICK_INCLUDE', value: 'nmae:web' },
      { name: 'SIDEKICK_EXCLUDE with a bad regex', env: { SIDEKICK_EXCLUDE: 'name:/(/' }, variable: 'SIDEKICK_EXCLUDE' },
      { name: 'SIDEKICK_TAG with an unknown placeholder', env: { SIDEKICK_TAG: '{{.Nmae}}' }, variable: 'SIDEKICK_TAG', value: '{{.Nmae}}' },
      { name: 'SIDEKICK_FIELDS without a source', env: { SIDEKICK_FIELDS: 'DEPLOY_ENV' }, variable: 'SIDEKICK_FIELDS', value: 'DEPLOY_ENV' },
      { name: 'SIDEKICK_STATIC_FIELDS without =', env: { SIDEKICK_STATIC_FIELDS: 'dc' }, variable: 'SIDEKICK_STATIC_FIELDS', value: 'dc' },
      { name: 'SIDEKICK_REDACT_PATTERNS with a broken regex', env: { SIDEKICK_REDACT_PATTERNS: 'bearer,(x' }, variable: 'SIDEKICK_REDACT_PATTERNS' },
      { name: 'SIDEKICK_REDACT_ENV empty list', env: { SIDEKICK_REDACT_ENV: ',' }, variable: 'SIDEKICK_REDACT_ENV' },
      { name: 'SIDEKICK_PARSE_JSON not a boolean', env: { SIDEKICK_PARSE_JSON: 'yes' }, variable: 'SIDEKICK_PARSE_JSON', value: 'yes' },
      { name: 'SIDEKICK_TAP without a token', env: { SIDEKICK_TAP: 'on' }, variable: 'SIDEKICK_TAP' },
      {
        name: 'SIDEKICK_TAP with metrics off',
        env: { SIDEKICK_TAP: 'on', SIDEKICK_METRICS_TOKEN: 't', SIDEKICK_METRICS_ADDR: 'off' },
        variable: 'SIDEKICK_TAP',
      },
      { name: 'a sink with an unknown ?types=', env: { SIDEKICK_SINKS: 'stdout://?types=logz' }, variable: 'SIDEKICK_SINKS', value: 'logz' },
      { name: 'a sink with a bad ?include=', env: { SIDEKICK_SINKS: 'stdout://?include=web' }, variable: 'SIDEKICK_SINKS' },
      { name: 'an unknown flag', argv: ['--nope'], variable: 'arguments', value: '--nope' },
      { name: 'a flag without its value', argv: ['--log-level'], variable: 'arguments', value: '--log-level' },
      { name: 'a positional argument', argv: ['extra'], variable: 'arguments', value: 'extra' },
    ];
    for (const c of cases) {
      it(c.name, () => {
        const err = configError(c.argv ?? [], c.env ?? {});
        assert.equal(err.variable, c.variable);
        assert.ok(err.message.includes(c.variable), err.message);
        if (c.value !== undefined) assert.ok(err.message.includes(c.value), err.message);
      });
    }

    it('DOCKER_TLS_VERIFY with a DOCKER_CERT_PATH that lacks the pem files', () => {
      const err = configError([], { DOCKER_HOST: 'tcp://h:2376', DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: emptyDir });
      assert.equal(err.variable, 'DOCKER_CERT_PATH');
      assert.ok(err.message.includes('DOCKER_CERT_PATH'), err.message);
      assert.ok(err.message.includes('ca.pem'), err.message);
    });

    it('names the flag too', () => {
      assert.ok(configError([], { SIDEKICK_LOG_LEVEL: 'loud' }).message.includes('--log-level'));
      assert.ok(configError([], { DOCKER_HOST: 'ftp://x' }).message.includes('--docker-host'));
      assert.ok(configError([], { SIDEKICK_SINKS: ',,' }).message.includes('--sinks'));
    });
  });

  it('never echoes the password of a sink URI', () => {
    for (const uri of [
      'stdout://user:secret@/',
      'stdout://user:secret@host/',
      'nope://user:secret@host/',
      'https://user:secret@logs.example.com/?typo=1',
      // A token with a "/" in it (as base64 has) makes the URI unparseable.
      'https://user:secret/Tok3n+x==@logs.example.com/',
    ]) {
      const err = configError([], { SIDEKICK_SINKS: uri });
      assert.equal(err.variable, 'SIDEKICK_SINKS');
      assert.ok(!err.message.includes('secret'), `${uri} -> ${err.message}`);
      const flagErr = configError(['--sinks', uri], {});
      assert.ok(!flagErr.message.includes('secret'), `${uri} -> ${flagErr.message}`);
    }
  });

  it('reads SIDEKICK_FILES_EXCLUDE and SIDEKICK_FILES_SCAN only with SIDEKICK_FILES', () => {
    const c = run([], { SIDEKICK_FILES_EXCLUDE: 'old/*.log', SIDEKICK_FILES_SCAN: '0' });
    assert.equal(c.files, undefined);
    assert.equal(configError([], { SIDEKICK_FILES: '/a/*.log', SIDEKICK_FILES_SCAN: '0' }).variable, 'SIDEKICK_FILES_SCAN');
  });

  it('never shows the metrics token it refuses', () => {
    const err = configError([], { SIDEKICK_METRICS_TOKEN: 'tok en' });
    assert.equal(err.message, 'SIDEKICK_METRICS_TOKEN (--metrics-token) = "***": printable characters without spaces');
  });

  it('reads the files a sink names: one missing is a ConfigError naming SIDEKICK_SINKS, the option and the path', () => {
    const missing = join(emptyDir, 'ca.pem');
    const err = configError([], { SIDEKICK_SINKS: `https://u:pw@logs.example/?ca=${missing}` });
    assert.equal(err.variable, 'SIDEKICK_SINKS');
    assert.ok(err.message.startsWith(`SIDEKICK_SINKS (--sinks) = "https://u:***@logs.example/?ca=${missing}": ca=${missing}: cannot read: `), err.message);
    assert.equal(run([], { SIDEKICK_SINKS: `https://logs.example/?ca=${join(certDir, 'ca.pem')}` }).sinks[0]?.scheme, 'https');
  });

  it('a disk buffer needs SIDEKICK_STATE_DIR, and one folder a destination', () => {
    const off = configError([], { SIDEKICK_SINKS: 'stdout://,http://u:pw@siem:8080/in?buffer=disk', SIDEKICK_STATE_DIR: 'off' });
    assert.equal(
      off.message,
      'SIDEKICK_STATE_DIR (--state-dir) = "off": set a folder: http://u:***@siem:8080/in?buffer=disk keeps its buffer there (buffer=disk)',
    );
    const twice = configError([], { SIDEKICK_SINKS: 'http://siem:8080/in?buffer=disk&types=log,http://siem:8080/in?buffer=disk&types=event' });
    assert.equal(twice.variable, 'SIDEKICK_SINKS');
    assert.match(twice.message, /send to one place: two disk buffers there would be one folder/);
    const two = run([], { SIDEKICK_SINKS: 'http://siem:8080/in?buffer=disk,http://siem:8080/other?buffer=disk&disk=2GiB&policy=block' }).sinks;
    assert.deepEqual(
      two.map((s) => (s.buffer.kind === 'disk' ? [s.buffer.bytes, s.buffer.policy] : [])),
      [
        [1024 ** 3, 'drop-oldest'],
        [2 * 1024 ** 3, 'block'],
      ],
    );
  });

  it('reads a tcp DOCKER_HOST, without TLS', () => {
    assert.deepEqual(run([], { DOCKER_HOST: 'tcp://docker.internal:2375' }).docker, {
      host: 'docker.internal',
      port: 2375,
      protocol: 'http',
    });
    assert.deepEqual(run([], { DOCKER_HOST: 'tcp://10.0.0.5' }).docker, { host: '10.0.0.5', port: 2375, protocol: 'http' });
    assert.deepEqual(run([], { DOCKER_HOST: 'tcp://[::1]:2375' }).docker, { host: '::1', port: 2375, protocol: 'http' });
  });

  it('reads a tcp DOCKER_HOST with TLS and the pem files of DOCKER_CERT_PATH', () => {
    const c = run([], { DOCKER_HOST: 'tcp://h:2376', DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: certDir });
    assert.deepEqual(c.docker, {
      host: 'h',
      port: 2376,
      protocol: 'https',
      ca: Buffer.from(pem['ca.pem']),
      cert: Buffer.from(pem['cert.pem']),
      key: Buffer.from(pem['key.pem']),
    });
    assert.equal(c.dockerHost, 'tcp://h:2376');
    const noPort = run(['--docker-tls-verify', '1', '--docker-cert-path', certDir], { DOCKER_HOST: 'tcp://h' });
    assert.equal(noPort.docker.port, 2376, 'the TLS port by default');
  });
});

describe('helpText', () => {
  it('mentions every variable and its flag', () => {
    const text = helpText();
    for (const v of VARIABLES) {
      assert.ok(text.includes(v), v);
      const flag =
        '--' +
        v
          .replace(/^SIDEKICK_/, '')
          .toLowerCase()
          .replaceAll('_', '-');
      assert.ok(text.includes(flag), flag);
    }
    assert.ok(text.includes('--help'));
    assert.ok(text.includes('--version'));
    assert.ok(text.includes('stdout://'));
    assert.ok(text.includes('otlp+http://host:4318/path'));
    assert.equal(text.split('otlp+http://host:4318/path').length - 1, 1, 'a sink of several schemes is told once');
  });
});
