// Environment variables and flags -> one validated, frozen config. Every
// setting is an environment variable and the same-named flag
// (SIDEKICK_SINKS = --sinks); a flag wins over the variable. Nothing on the
// per-record path reads process.env.

import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { DockerOptions } from 'dockerode';
import { compileTag, parseFieldSources, parseStaticFields, type DecorOptions } from './pipeline/decorate.js';
import { RECORD_TYPES, type RecordType } from './pipeline/record.js';
import { parseEnvRedaction, parseRedactPatterns, REDACT_PRESETS, type EnvRedaction } from './pipeline/redact.js';
import { parseMatchers, Selection } from './pipeline/select.js';
import { EVERY_SINK_USAGE, configureSink, SINKS } from './sinks/registry.js';
import { SinkUriError, type ConfiguredSink } from './sinks/sink.js';
import { startPattern } from './sources/multiline.js';
import { parseDuration, parseSize } from './units.js';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const LOGS_SOURCES = ['api', 'auto', 'files'] as const;
export type LogsSource = (typeof LOGS_SOURCES)[number];

export interface Config {
  /** Where the Docker API is, as dockerode takes it. */
  readonly docker: Readonly<DockerOptions>;
  /** DOCKER_HOST as given, for messages. */
  readonly dockerHost: string;
  readonly sinks: readonly ConfiguredSink[];
  readonly types: ReadonlySet<RecordType>;
  /** Undefined: ask the Docker daemon for its host name. */
  readonly hostname: string | undefined;
  readonly logLevel: LogLevel;
  readonly dockerConcurrency: number;
  /** 0: no stats sampling. */
  readonly statsIntervalMs: number;
  /** Where /metrics, /healthz, /readyz and /status listen; undefined: off. */
  readonly metricsAddr: { readonly host: string | undefined; readonly port: number } | undefined;
  /** Container labels copied onto container metrics, as container_label_<name>. */
  readonly metricsLabels: readonly string[];
  /** Where checkpoints are kept; undefined: nowhere (a restart reads by SIDEKICK_BACKLOG). */
  readonly stateDir: string | undefined;
  /** What to read of a running container seen for the first time, without a checkpoint. */
  readonly backlog: Backlog;
  /** Where container logs are read: the logs API, the engine's json-files, or those where readable. */
  readonly logsSource: LogsSource;
  /** The longest line kept whole, in bytes; longer ones are cut and marked. */
  readonly maxLine: number;
  /** Multiline for every container without its own label; undefined: off. */
  readonly multiline: RegExp | undefined;
  readonly multilineFlushMs: number;
  /** Log files to tail; undefined: none (SIDEKICK_FILES unset). */
  readonly files: FilesConfig | undefined;
  /** Which containers are collected (SIDEKICK_INCLUDE, SIDEKICK_EXCLUDE). */
  readonly containers: Selection;
  /** Tag and fields added to each container's records. */
  readonly decor: DecorOptions;
  /** SIDEKICK_STATIC_FIELDS, for records of no container. */
  readonly staticFields: Readonly<Record<string, string>> | undefined;
  /** Which env var values inspect records hide. */
  readonly redactEnv: EnvRedaction;
  /** Masked in log and file lines; undefined: nothing. */
  readonly redactPatterns: RegExp | undefined;
  /** Messages that are JSON objects also go as `json` (per container: label sidekick.parse=json). */
  readonly parseJson: boolean;
  /** GET /tap on the metrics server (needs metricsToken). */
  readonly tap: boolean;
  /** Bearer token for /metrics, /status and /tap; /healthz and /readyz stay open. */
  readonly metricsToken: string | undefined;
}

export interface FilesConfig {
  /** Absolute globs. */
  readonly include: readonly string[];
  /** Globs of paths to skip; one without a "/" matches the file's name. */
  readonly exclude: readonly string[];
  /** How often the globs are matched again (besides inotify). */
  readonly scanMs: number;
}

export type Backlog =
  | { readonly kind: 'all' }
  | { readonly kind: 'none' }
  | { readonly kind: 'tail'; readonly lines: number }
  | { readonly kind: 'since'; readonly ms: number };

/** A bad setting: names the variable, the value and what is allowed. */
export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    value: string,
    allowed: string,
  ) {
    super(`${variable} (--${flagOf(variable)}) = ${JSON.stringify(value)}: ${allowed}`);
  }
}

interface Setting {
  readonly env: string;
  readonly default: string | undefined;
  readonly help: string;
}

const SETTINGS = [
  { env: 'DOCKER_HOST', default: 'unix:///var/run/docker.sock', help: 'Docker API: unix:///path or tcp://host:port' },
  { env: 'DOCKER_TLS_VERIFY', default: '', help: 'non-empty: use TLS to a tcp:// DOCKER_HOST and verify it' },
  { env: 'DOCKER_CERT_PATH', default: '~/.docker', help: 'folder with ca.pem, cert.pem, key.pem for TLS' },
  {
    env: 'SIDEKICK_SINKS',
    default: 'stdout://',
    help: 'comma-separated sink URIs (write a comma inside one URI as %2C)',
  },
  { env: 'SIDEKICK_TYPES', default: RECORD_TYPES.join(','), help: `record types to collect: ${RECORD_TYPES.join(', ')}` },
  { env: 'SIDEKICK_HOSTNAME', default: undefined, help: "host name on every record (default: the Docker host's name)" },
  { env: 'SIDEKICK_LOG_LEVEL', default: 'info', help: `sidekick's own log level: ${LOG_LEVELS.join(', ')}` },
  {
    env: 'SIDEKICK_DOCKER_CONCURRENCY',
    default: '16',
    help: 'Docker API calls in flight at once (inspect, opening log streams): 1-1024',
  },
  { env: 'SIDEKICK_STATS_INTERVAL', default: '10s', help: 'stats sample interval per container (like 10s, 500ms); 0 disables' },
  {
    env: 'SIDEKICK_METRICS_ADDR',
    default: ':9324',
    help: '[host]:port of /metrics, /healthz, /readyz and /status; off disables',
  },
  {
    env: 'SIDEKICK_METRICS_LABELS',
    default: '',
    help: 'container labels to put on container metrics (comma-separated), as container_label_<name>',
  },
  {
    env: 'SIDEKICK_STATE_DIR',
    default: '/var/lib/sidekick',
    help: 'where checkpoints are kept, so a restart loses and repeats nothing; off: keep none',
  },
  {
    env: 'SIDEKICK_BACKLOG',
    default: 'tail:1000',
    help: 'what to read of a running container first seen without a checkpoint: tail:N, all, none, or a duration (10m)',
  },
  {
    env: 'SIDEKICK_LOGS_SOURCE',
    default: 'auto',
    help: 'where container logs are read: api (the logs API), auto (the json-file where readable, else the API), files (as auto, warning for each container that falls back)',
  },
  { env: 'SIDEKICK_MAX_LINE', default: '1MiB', help: 'longest line kept whole (a longer one is cut and marked truncated)' },
  {
    env: 'SIDEKICK_MULTILINE',
    default: '',
    help: 'join multiline records for every container: java, python, node, or a regex that matches the first line of a record',
  },
  { env: 'SIDEKICK_MULTILINE_FLUSH', default: '1s', help: 'send a multiline record after this long without a new line' },
  {
    env: 'SIDEKICK_FILES',
    default: '',
    help: 'log files to tail, as comma-separated absolute globs (/var/log/app/**/*.log); set: file records are collected',
  },
  {
    env: 'SIDEKICK_FILES_EXCLUDE',
    default: '*.gz,*.[0-9]',
    help: 'globs of files not to tail (a glob without / matches the file name); the default skips rotated files',
  },
  { env: 'SIDEKICK_FILES_SCAN', default: '5s', help: 'how often the file globs are matched again (inotify also tells of new files)' },
  {
    env: 'SIDEKICK_INCLUDE',
    default: '',
    help: 'collect only containers matching one of: name:<glob|/regex/>, image:, label:key[=value], compose.project:, compose.service: (comma-separated)',
  },
  { env: 'SIDEKICK_EXCLUDE', default: '', help: 'never collect containers matching one of these matchers (wins over include)' },
  {
    env: 'SIDEKICK_TAG',
    default: '{{.Name}}',
    help: 'tag of each container\'s records (and syslog APP-NAME): {{.ID}} {{.FullID}} {{.Name}} {{.ImageName}} {{.ImageID}} {{.ImageFullID}} {{.DaemonName}} {{.Label "key"}}',
  },
  { env: 'SIDEKICK_FIELDS', default: '', help: 'container env vars and labels copied into `fields`: env:NAME,label:key' },
  { env: 'SIDEKICK_STATIC_FIELDS', default: '', help: 'fields on every record: key=value,key=value' },
  { env: 'SIDEKICK_REDACT_ENV', default: 'all', help: 'env values hidden in inspect records: all, none, or name globs (*PASSWORD*,*TOKEN*)' },
  {
    env: 'SIDEKICK_REDACT_PATTERNS',
    default: '',
    help: `masked in log and file lines: comma-separated regexes or presets (${Object.keys(REDACT_PRESETS).join(', ')})`,
  },
  {
    env: 'SIDEKICK_PARSE_JSON',
    default: 'false',
    help: 'true: a message that is a JSON object is also sent parsed, as `json` (per container: label sidekick.parse=json)',
  },
  { env: 'SIDEKICK_TAP', default: 'off', help: 'on: GET /tap?types=&include=&exclude= streams matching records live (needs SIDEKICK_METRICS_TOKEN)' },
  { env: 'SIDEKICK_METRICS_TOKEN', default: undefined, help: 'bearer token required by /metrics, /status and /tap (/healthz, /readyz stay open)' },
] as const satisfies readonly Setting[];

export type SettingName = (typeof SETTINGS)[number]['env'];

/** Every setting's variable, in --help order. */
export const SETTING_NAMES: readonly SettingName[] = SETTINGS.map((s) => s.env);

/** DOCKER_HOST -> docker_host -> --docker-host; SIDEKICK_SINKS -> --sinks. */
function flagOf(env: string): string {
  return env
    .replace(/^SIDEKICK_/, '')
    .toLowerCase()
    .replaceAll('_', '-');
}

export function helpText(): string {
  const rows = SETTINGS.map((s) => {
    const def = s.default === undefined ? '' : ` (default: ${s.default === '' ? 'unset' : s.default})`;
    return `  --${flagOf(s.env)}, ${s.env}\n      ${s.help}${def}`;
  });
  const sinks = Object.values(SINKS).map((f) => `  ${f.usage}`);
  return [
    'Usage: sidekick [flags]',
    '',
    'Collects the logs, events and inspect data of every container on a Docker host',
    'and forwards them as one JSON stream. Each setting is a flag or the environment',
    'variable beside it; a flag wins.',
    '',
    ...rows,
    '  --help         this text',
    '  --version      the version',
    '  --healthcheck  exit 0 if the sidekick of these settings answers /healthz, else 1',
    '',
    'Sinks:',
    ...sinks,
    `  ${EVERY_SINK_USAGE}`,
    '',
  ].join('\n');
}

export type LoadResult =
  | { readonly kind: 'run'; readonly config: Config }
  | { readonly kind: 'help' }
  | { readonly kind: 'version' }
  /** --healthcheck: ask a running sidekick's /healthz (the image's HEALTHCHECK; no curl needed). */
  | { readonly kind: 'healthcheck'; readonly config: Config };

export function loadConfig(argv: readonly string[], env: NodeJS.ProcessEnv): LoadResult {
  const options: Record<string, { type: 'string' | 'boolean' }> = {
    help: { type: 'boolean' },
    version: { type: 'boolean' },
    healthcheck: { type: 'boolean' },
  };
  for (const s of SETTINGS) options[flagOf(s.env)] = { type: 'string' };
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: [...argv], options, strict: true, allowPositionals: false });
  } catch (err) {
    throw new ConfigError('arguments', argv.join(' '), `${(err as Error).message}; see --help`);
  }
  if (parsed.values['help'] === true) return { kind: 'help' };
  if (parsed.values['version'] === true) return { kind: 'version' };

  const raw = (name: SettingName): string | undefined => {
    const flag = parsed.values[flagOf(name)];
    if (typeof flag === 'string') return flag;
    const fromEnv = env[name];
    if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
    return SETTINGS.find((s) => s.env === name)!.default;
  };

  const dockerHost = raw('DOCKER_HOST')!;
  const staticText = raw('SIDEKICK_STATIC_FIELDS') ?? '';
  const staticFields = staticText.trim() === '' ? undefined : guarded('SIDEKICK_STATIC_FIELDS', staticText, parseStaticFields);
  const config: Config = {
    docker: parseDockerHost(dockerHost, raw('DOCKER_TLS_VERIFY') ?? '', raw('DOCKER_CERT_PATH')!),
    dockerHost,
    sinks: parseSinks(raw('SIDEKICK_SINKS')!),
    types: parseTypes(raw('SIDEKICK_TYPES')!),
    hostname: parseHostname(raw('SIDEKICK_HOSTNAME')),
    logLevel: parseEnum('SIDEKICK_LOG_LEVEL', raw('SIDEKICK_LOG_LEVEL')!, LOG_LEVELS),
    dockerConcurrency: parseInteger('SIDEKICK_DOCKER_CONCURRENCY', raw('SIDEKICK_DOCKER_CONCURRENCY')!, 1, 1024),
    statsIntervalMs: parseInterval('SIDEKICK_STATS_INTERVAL', raw('SIDEKICK_STATS_INTERVAL')!),
    metricsAddr: parseListen('SIDEKICK_METRICS_ADDR', raw('SIDEKICK_METRICS_ADDR')!),
    metricsLabels: parseMetricsLabels(raw('SIDEKICK_METRICS_LABELS') ?? ''),
    stateDir: parseStateDir(raw('SIDEKICK_STATE_DIR')!),
    backlog: parseBacklog(raw('SIDEKICK_BACKLOG')!),
    maxLine: parseMaxLine(raw('SIDEKICK_MAX_LINE')!),
    multiline: parseMultiline(raw('SIDEKICK_MULTILINE')),
    multilineFlushMs: parseInterval('SIDEKICK_MULTILINE_FLUSH', raw('SIDEKICK_MULTILINE_FLUSH')!),
    files: parseFiles(raw('SIDEKICK_FILES'), raw('SIDEKICK_FILES_EXCLUDE') ?? '', raw('SIDEKICK_FILES_SCAN')!),
    containers: new Selection(matchers('SIDEKICK_INCLUDE', raw('SIDEKICK_INCLUDE')), matchers('SIDEKICK_EXCLUDE', raw('SIDEKICK_EXCLUDE'))),
    decor: {
      tag: guarded('SIDEKICK_TAG', raw('SIDEKICK_TAG')!, compileTag),
      fields: guarded('SIDEKICK_FIELDS', raw('SIDEKICK_FIELDS') ?? '', parseFieldSources),
      staticFields: staticFields ?? {},
    },
    staticFields,
    redactEnv: guarded('SIDEKICK_REDACT_ENV', raw('SIDEKICK_REDACT_ENV')!, parseEnvRedaction),
    redactPatterns: guarded('SIDEKICK_REDACT_PATTERNS', raw('SIDEKICK_REDACT_PATTERNS') ?? '', parseRedactPatterns),
    logsSource: parseEnum('SIDEKICK_LOGS_SOURCE', raw('SIDEKICK_LOGS_SOURCE')!, LOGS_SOURCES),
    parseJson: parseEnum('SIDEKICK_PARSE_JSON', raw('SIDEKICK_PARSE_JSON')!, ['true', 'false'] as const) === 'true',
    tap: parseEnum('SIDEKICK_TAP', raw('SIDEKICK_TAP')!, ['on', 'off'] as const) === 'on',
    metricsToken: parseToken(raw('SIDEKICK_METRICS_TOKEN')),
  };
  if (config.tap && config.metricsToken === undefined) {
    throw new ConfigError('SIDEKICK_TAP', 'on', 'set SIDEKICK_METRICS_TOKEN too: /tap carries log contents and needs a bearer token');
  }
  if (config.tap && config.metricsAddr === undefined) {
    throw new ConfigError('SIDEKICK_TAP', 'on', 'turn SIDEKICK_METRICS_ADDR on: /tap is served there');
  }
  if (config.files !== undefined && !config.types.has('file')) {
    throw new ConfigError('SIDEKICK_TYPES', raw('SIDEKICK_TYPES')!, 'add "file": SIDEKICK_FILES is set, and its records would all be dropped');
  }
  if (parsed.values['healthcheck'] === true) return { kind: 'healthcheck', config: Object.freeze(config) };
  return { kind: 'run', config: Object.freeze(config) };
}

function parseDockerHost(value: string, tlsVerify: string, certPath: string): DockerOptions {
  if (/^(0|false|no|off)$/i.test(tlsVerify.trim())) {
    // As for the Docker CLI, any value turns TLS on: this one surely meant off.
    throw new ConfigError('DOCKER_TLS_VERIFY', tlsVerify, 'any non-empty value turns TLS on; unset it to turn TLS off');
  }
  if (value.startsWith('unix://')) {
    const socketPath = value.slice('unix://'.length);
    if (!socketPath.startsWith('/')) {
      throw new ConfigError('DOCKER_HOST', value, 'a unix socket needs an absolute path: unix:///var/run/docker.sock');
    }
    return { socketPath };
  }
  if (value.startsWith('tcp://')) {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      throw new ConfigError('DOCKER_HOST', value, 'expected tcp://host:port');
    }
    const tls = tlsVerify !== '';
    const port = url.port === '' ? (tls ? 2376 : 2375) : Number(url.port);
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    if (host === '') throw new ConfigError('DOCKER_HOST', value, 'expected tcp://host:port');
    if (!tls) return { host, port, protocol: 'http' };
    const dir = certPath.startsWith('~/') ? join(homedir(), certPath.slice(2)) : certPath;
    const read = (file: string): Buffer => {
      try {
        return readFileSync(join(dir, file));
      } catch (err) {
        throw new ConfigError('DOCKER_CERT_PATH', certPath, `cannot read ${file}: ${(err as Error).message}`);
      }
    };
    return { host, port, protocol: 'https', ca: read('ca.pem'), cert: read('cert.pem'), key: read('key.pem') };
  }
  throw new ConfigError('DOCKER_HOST', value, 'allowed: unix:///path/to/docker.sock or tcp://host:port');
}

/** Splits the comma list first, then parses each URI (which decodes %2C). */
function parseSinks(value: string): ConfiguredSink[] {
  const uris = value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (uris.length === 0) throw new ConfigError('SIDEKICK_SINKS', value, 'at least one sink URI is needed');
  return uris.map((uri) => {
    try {
      return configureSink(uri);
    } catch (err) {
      if (err instanceof SinkUriError) throw new ConfigError('SIDEKICK_SINKS', err.display, err.message);
      throw err;
    }
  });
}

function parseTypes(value: string): Set<RecordType> {
  const types = new Set<RecordType>();
  for (const part of value.split(',')) {
    const t = part.trim();
    if (t === '') continue;
    if (!(RECORD_TYPES as readonly string[]).includes(t)) {
      throw new ConfigError('SIDEKICK_TYPES', value, `unknown type "${t}"; allowed: ${RECORD_TYPES.join(', ')}`);
    }
    types.add(t as RecordType);
  }
  if (types.size === 0) {
    throw new ConfigError('SIDEKICK_TYPES', value, `name at least one of ${RECORD_TYPES.join(', ')}`);
  }
  return types;
}

function parseHostname(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$/.test(value)) {
    throw new ConfigError('SIDEKICK_HOSTNAME', value, 'a host name: letters, digits, ".", "_", "-"; at most 255');
  }
  return value;
}

function parseInterval(variable: string, value: string): number {
  if (value === '0') return 0;
  const ms = parseDuration(value);
  if (ms === undefined || ms < 100) throw new ConfigError(variable, value, 'a duration of at least 100ms (like 10s), or 0 to disable');
  return ms;
}

function parseListen(variable: string, value: string): Config['metricsAddr'] {
  if (value === 'off') return undefined;
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(value);
  const port = m === null ? NaN : Number(m[3]);
  if (m === null || port > 65535) {
    throw new ConfigError(variable, value, 'allowed: [host]:port (like :9324 or 127.0.0.1:9324), or off');
  }
  const host = m[1] ?? m[2];
  return { host: host === '' ? undefined : host, port };
}

function parseMaxLine(value: string): number {
  const n = parseSize(value);
  if (n === undefined || n < 1024 || n > 64 * 1024 * 1024) {
    throw new ConfigError('SIDEKICK_MAX_LINE', value, 'a size from 1KiB to 64MiB, like 1MiB');
  }
  return n;
}

function parseMultiline(value: string | undefined): RegExp | undefined {
  if (value === undefined || value === '') return undefined;
  try {
    return startPattern(value);
  } catch (err) {
    throw new ConfigError('SIDEKICK_MULTILINE', value, `${(err as Error).message}; allowed: java, python, node, or a regex`);
  }
}

/** Runs a parser of a setting, turning what it throws into a ConfigError naming the setting. */
function guarded<T>(variable: string, value: string, parse: (text: string) => T): T {
  try {
    return parse(value);
  } catch (err) {
    throw new ConfigError(variable, value, (err as Error).message);
  }
}

function matchers(variable: string, value: string | undefined): ReturnType<typeof parseMatchers> {
  return guarded(variable, value ?? '', parseMatchers);
}

function globList(value: string): string[] {
  return value
    .split(',')
    .map((g) => g.trim())
    .filter((g) => g !== '');
}

function parseFiles(include: string | undefined, exclude: string, scan: string): FilesConfig | undefined {
  const globs = globList(include ?? '');
  if (globs.length === 0) return undefined;
  for (const g of globs) {
    if (!g.startsWith('/')) throw new ConfigError('SIDEKICK_FILES', include!, `"${g}" is not absolute; globs start with /`);
  }
  const scanMs = parseDuration(scan);
  if (scanMs === undefined || scanMs < 100) {
    throw new ConfigError('SIDEKICK_FILES_SCAN', scan, 'a duration of at least 100ms, like 5s');
  }
  const excluded = globList(exclude);
  for (const g of excluded) {
    if (g.includes('/') && !g.startsWith('/')) {
      throw new ConfigError('SIDEKICK_FILES_EXCLUDE', exclude, `"${g}": a file name glob (no /) or an absolute path glob`);
    }
  }
  return { include: globs, exclude: excluded, scanMs };
}

/** Label keys, as Docker allows them: no spaces, no "=" (a key=value here is a mistake). */
function parseMetricsLabels(value: string): string[] {
  const keys = value
    .split(',')
    .map((l) => l.trim())
    .filter((l) => l !== '');
  for (const k of keys) {
    if (/[\s=]/.test(k)) throw new ConfigError('SIDEKICK_METRICS_LABELS', value, `"${k}": a label key, without spaces or "="`);
  }
  return keys;
}

/** It goes in an HTTP header: printable, without spaces. */
function parseToken(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (!/^[\x21-\x7e]+$/.test(value)) {
    // The message must not show the token: it names what is wrong only.
    throw new ConfigError('SIDEKICK_METRICS_TOKEN', '***', 'printable characters without spaces');
  }
  return value;
}

function parseStateDir(value: string): string | undefined {
  if (value === 'off') return undefined;
  if (!value.startsWith('/')) throw new ConfigError('SIDEKICK_STATE_DIR', value, 'an absolute path, or off');
  return value;
}

function parseBacklog(value: string): Backlog {
  if (value === 'all' || value === 'none') return { kind: value };
  const tail = /^tail:(\d+)$/.exec(value);
  if (tail !== null) return { kind: 'tail', lines: Number(tail[1]) };
  const ms = parseDuration(value);
  if (ms !== undefined) return { kind: 'since', ms };
  throw new ConfigError('SIDEKICK_BACKLOG', value, 'allowed: tail:N (like tail:1000), all, none, or a duration like 10m');
}

function parseEnum<T extends string>(variable: string, value: string, allowed: readonly T[]): T {
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new ConfigError(variable, value, `allowed: ${allowed.join(', ')}`);
}

function parseInteger(variable: string, value: string, min: number, max: number): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min || n > max) {
    throw new ConfigError(variable, value, `a whole number from ${min} to ${max}`);
  }
  return n;
}
