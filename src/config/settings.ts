// Every setting, one row each: its environment variable (the flag is made
// from it, see flagOf in load.ts), its default, its --help text and the
// parser of its value. The key of a row is the name of its value in the
// Config; adding a setting is adding a row.

import { compileTag, parseFieldSources, parseStaticFields } from '../transforms/decorate.js';
import { RECORD_TYPES } from '../core/record.js';
import { parseEnvRedaction, parseRedactPatterns, REDACT_PRESETS } from '../transforms/redact.js';
import { parseMatchers } from '../transforms/route.js';
import {
  absoluteGlobs,
  absolutePathOrOff,
  backlog,
  bearerToken,
  dockerAddress,
  excludeGlobs,
  hostName,
  intervalOrOff,
  labelKeys,
  lineSize,
  listenAddress,
  multilineStart,
  oneOf,
  onOff,
  recordTypes,
  scanInterval,
  sinkList,
  tlsVerify,
  wholeNumber,
} from './parse.js';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const LOGS_SOURCES = ['api', 'auto', 'files'] as const;
export type LogsSource = (typeof LOGS_SOURCES)[number];

export interface Setting<T> {
  readonly env: string;
  /** The value when neither the flag nor the variable gives one (an empty variable counts as unset); undefined: no value. */
  readonly default: string | undefined;
  readonly help: string;
  /** Throws an Error saying what is allowed; the loader names the setting and the value. */
  readonly parse: (value: string) => T;
  /**
   * The key of an earlier row: this one is read only when that one has a
   * value, and has none otherwise (a leftover that does not matter must not
   * stop sidekick).
   */
  readonly onlyWith?: string;
}

/** The rows, in --help order (and the order they are read in: the first bad one is the one reported). */
export const SETTINGS = {
  dockerHost: {
    env: 'DOCKER_HOST',
    default: 'unix:///var/run/docker.sock',
    help: 'Docker API: unix:///path or tcp://host:port',
    parse: dockerAddress,
  },
  dockerTlsVerify: {
    env: 'DOCKER_TLS_VERIFY',
    default: '',
    help: 'non-empty: use TLS to a tcp:// DOCKER_HOST and verify it',
    parse: tlsVerify,
  },
  dockerCertPath: {
    env: 'DOCKER_CERT_PATH',
    default: '~/.docker',
    help: 'folder with ca.pem, cert.pem, key.pem for TLS',
    // Read with DOCKER_HOST and DOCKER_TLS_VERIFY, in load.ts, only when TLS is on.
    parse: (value) => value,
  },
  sinks: {
    env: 'SIDEKICK_SINKS',
    default: 'stdout://',
    help: 'comma-separated sink URIs (write a comma inside one URI as %2C)',
    parse: sinkList,
  },
  types: {
    env: 'SIDEKICK_TYPES',
    default: RECORD_TYPES.join(','),
    help: `record types to collect: ${RECORD_TYPES.join(', ')}`,
    parse: recordTypes,
  },
  hostname: {
    env: 'SIDEKICK_HOSTNAME',
    default: undefined,
    help: "host name on every record (default: the Docker host's name)",
    parse: hostName,
  },
  logLevel: {
    env: 'SIDEKICK_LOG_LEVEL',
    default: 'info',
    help: `sidekick's own log level: ${LOG_LEVELS.join(', ')}`,
    parse: oneOf(LOG_LEVELS),
  },
  dockerConcurrency: {
    env: 'SIDEKICK_DOCKER_CONCURRENCY',
    default: '16',
    help: 'Docker API calls in flight at once (inspect, opening log streams): 1-1024',
    parse: wholeNumber(1, 1024),
  },
  statsIntervalMs: {
    env: 'SIDEKICK_STATS_INTERVAL',
    default: '10s',
    help: 'stats sample interval per container (like 10s, 500ms); 0 disables',
    parse: intervalOrOff,
  },
  metricsAddr: {
    env: 'SIDEKICK_METRICS_ADDR',
    default: ':9324',
    help: '[host]:port of /metrics, /healthz, /readyz and /status; off disables',
    parse: listenAddress,
  },
  metricsLabels: {
    env: 'SIDEKICK_METRICS_LABELS',
    default: '',
    help: 'container labels to put on container metrics (comma-separated), as container_label_<name>',
    parse: labelKeys,
  },
  stateDir: {
    env: 'SIDEKICK_STATE_DIR',
    default: '/var/lib/sidekick',
    help: 'where checkpoints are kept, so a restart loses and repeats nothing; off: keep none',
    parse: absolutePathOrOff,
  },
  backlog: {
    env: 'SIDEKICK_BACKLOG',
    default: 'tail:1000',
    help: 'what to read of a running container first seen without a checkpoint: tail:N, all, none, or a duration (10m)',
    parse: backlog,
  },
  logsSource: {
    env: 'SIDEKICK_LOGS_SOURCE',
    default: 'auto',
    help: 'where container logs are read: api (the logs API), auto (the json-file where readable, else the API), files (as auto, warning for each container that falls back)',
    parse: oneOf(LOGS_SOURCES),
  },
  maxLine: {
    env: 'SIDEKICK_MAX_LINE',
    default: '1MiB',
    help: 'longest line kept whole (a longer one is cut and marked truncated)',
    parse: lineSize,
  },
  multiline: {
    env: 'SIDEKICK_MULTILINE',
    default: '',
    help: 'join multiline records for every container: java, python, node, or a regex that matches the first line of a record',
    parse: multilineStart,
  },
  multilineFlushMs: {
    env: 'SIDEKICK_MULTILINE_FLUSH',
    default: '1s',
    help: 'send a multiline record after this long without a new line',
    parse: intervalOrOff,
  },
  files: {
    env: 'SIDEKICK_FILES',
    default: '',
    help: 'log files to tail, as comma-separated absolute globs (/var/log/app/**/*.log); set: file records are collected',
    parse: absoluteGlobs,
  },
  filesExclude: {
    env: 'SIDEKICK_FILES_EXCLUDE',
    default: '*.gz,*.[0-9]',
    help: 'globs of files not to tail (a glob without / matches the file name); the default skips rotated files',
    parse: excludeGlobs,
    onlyWith: 'files',
  },
  filesScanMs: {
    env: 'SIDEKICK_FILES_SCAN',
    default: '5s',
    help: 'how often the file globs are matched again (inotify also tells of new files)',
    parse: scanInterval,
    onlyWith: 'files',
  },
  include: {
    env: 'SIDEKICK_INCLUDE',
    default: '',
    help: 'collect only containers matching one of: name:<glob|/regex/>, image:, label:key[=value], compose.project:, compose.service: (comma-separated)',
    parse: parseMatchers,
  },
  exclude: {
    env: 'SIDEKICK_EXCLUDE',
    default: '',
    help: 'never collect containers matching one of these matchers (wins over include)',
    parse: parseMatchers,
  },
  tag: {
    env: 'SIDEKICK_TAG',
    default: '{{.Name}}',
    help: 'tag of each container\'s records (and syslog APP-NAME): {{.ID}} {{.FullID}} {{.Name}} {{.ImageName}} {{.ImageID}} {{.ImageFullID}} {{.DaemonName}} {{.Label "key"}}',
    parse: compileTag,
  },
  fields: {
    env: 'SIDEKICK_FIELDS',
    default: '',
    help: 'container env vars and labels copied into `fields`: env:NAME,label:key',
    parse: parseFieldSources,
  },
  staticFields: {
    env: 'SIDEKICK_STATIC_FIELDS',
    default: '',
    help: 'fields on every record: key=value,key=value',
    parse: (value): Readonly<Record<string, string>> | undefined => (value.trim() === '' ? undefined : parseStaticFields(value)),
  },
  redactEnv: {
    env: 'SIDEKICK_REDACT_ENV',
    default: 'all',
    help: 'env values hidden in inspect records: all, none, or name globs (*PASSWORD*,*TOKEN*)',
    parse: parseEnvRedaction,
  },
  redactPatterns: {
    env: 'SIDEKICK_REDACT_PATTERNS',
    default: '',
    help: `masked in log and file lines: comma-separated regexes or presets (${Object.keys(REDACT_PRESETS).join(', ')})`,
    parse: parseRedactPatterns,
  },
  parseJson: {
    env: 'SIDEKICK_PARSE_JSON',
    default: 'false',
    help: 'true: a message that is a JSON object is also sent parsed, as `json` (per container: label sidekick.parse=json)',
    parse: onOff('true', 'false'),
  },
  tap: {
    env: 'SIDEKICK_TAP',
    default: 'off',
    help: 'on: GET /tap?types=&include=&exclude= streams matching records live (needs SIDEKICK_METRICS_TOKEN)',
    parse: onOff('on', 'off'),
  },
  metricsToken: {
    env: 'SIDEKICK_METRICS_TOKEN',
    default: undefined,
    help: 'bearer token required by /metrics, /status and /tap (/healthz, /readyz stay open)',
    parse: bearerToken,
  },
} as const satisfies Readonly<Record<string, Setting<unknown>>>;

export type SettingKey = keyof typeof SETTINGS;
export type SettingName = (typeof SETTINGS)[SettingKey]['env'];

/** Every row's key, in --help order. */
export const SETTING_KEYS = Object.keys(SETTINGS) as SettingKey[];

/** Every setting's variable, in --help order. */
export const SETTING_NAMES: readonly SettingName[] = SETTING_KEYS.map((key) => SETTINGS[key].env);
