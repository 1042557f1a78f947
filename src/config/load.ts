// Environment variables and flags -> one validated, frozen config. Every
// setting (a row in settings.ts) is an environment variable and the
// same-named flag (SIDEKICK_SINKS = --sinks); a flag wins over the variable.
// Nothing on the per-record path reads process.env.

import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { DockerOptions } from 'dockerode';
import type { DecorOptions } from '../transforms/decorate.js';
import { Selection } from '../transforms/route.js';
import { EVERY_SINK_USAGE, SINKS } from '../sinks/registry.js';
import { MaskedValueError, type DockerAddress } from './parse.js';
import { SETTING_KEYS, SETTINGS, type Setting, type SettingKey } from './settings.js';

type Row<K extends SettingKey> = (typeof SETTINGS)[K];

/** The text of each setting: the flag's, the variable's or the default. */
type Given = { readonly [K in SettingKey]: Row<K>['default'] extends string ? string : string | undefined };

/** Each row's value: undefined when it has no default and none is given, or when its onlyWith row has none. */
type Values = {
  readonly [K in SettingKey]: ReturnType<Row<K>['parse']> | (Row<K> extends { readonly default: string; readonly onlyWith?: undefined } ? never : undefined);
};

/** What rows that only mean something together make, in combine(). */
interface Combined {
  /** Where the Docker API is, as dockerode takes it (DOCKER_HOST, DOCKER_TLS_VERIFY, DOCKER_CERT_PATH). */
  readonly docker: Readonly<DockerOptions>;
  /** DOCKER_HOST as given, for messages. */
  readonly dockerHost: string;
  /** Log files to tail; undefined: none (SIDEKICK_FILES unset). */
  readonly files: FilesConfig | undefined;
  /** Which containers are collected (SIDEKICK_INCLUDE, SIDEKICK_EXCLUDE). */
  readonly containers: Selection;
  /** Tag and fields added to each container's records. */
  readonly decor: DecorOptions;
}

/** The rows read only into a Combined field. */
type CombinedRows = 'dockerTlsVerify' | 'dockerCertPath' | 'filesExclude' | 'filesScanMs' | 'include' | 'exclude' | 'tag' | 'fields';

/** Each row's value under its key (see settings.ts for what each is), and the Combined fields. */
export type Config = Omit<Values, CombinedRows | keyof Combined> & Combined;

export interface FilesConfig {
  /** Absolute globs. */
  readonly include: readonly string[];
  /** Globs of paths to skip; one without a "/" matches the file's name. */
  readonly exclude: readonly string[];
  /** How often the globs are matched again (besides inotify). */
  readonly scanMs: number;
}

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

/** DOCKER_HOST -> docker_host -> --docker-host; SIDEKICK_SINKS -> --sinks. */
function flagOf(env: string): string {
  return env
    .replace(/^SIDEKICK_/, '')
    .toLowerCase()
    .replaceAll('_', '-');
}

export function helpText(): string {
  const rows = SETTING_KEYS.map((key) => {
    const s = SETTINGS[key];
    const def = s.default === undefined ? '' : ` (default: ${s.default === '' ? 'unset' : s.default})`;
    return `  --${flagOf(s.env)}, ${s.env}\n      ${s.help}${def}`;
  });
  const sinks = [...new Set(Object.values(SINKS))].map((f) => `  ${f.usage}`);
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
  for (const key of SETTING_KEYS) options[flagOf(SETTINGS[key].env)] = { type: 'string' };
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: [...argv], options, strict: true, allowPositionals: false });
  } catch (err) {
    throw new ConfigError('arguments', argv.join(' '), `${(err as Error).message}; see --help`);
  }
  if (parsed.values['help'] === true) return { kind: 'help' };
  if (parsed.values['version'] === true) return { kind: 'version' };

  const given = givenText(parsed.values, env);
  const config = Object.freeze(combine(readRows(given), given));
  if (config.tap && config.metricsToken === undefined) {
    throw new ConfigError(SETTINGS.tap.env, 'on', 'set SIDEKICK_METRICS_TOKEN too: /tap carries log contents and needs a bearer token');
  }
  if (config.tap && config.metricsAddr === undefined) {
    throw new ConfigError(SETTINGS.tap.env, 'on', 'turn SIDEKICK_METRICS_ADDR on: /tap is served there');
  }
  if (config.files !== undefined && !config.types.has('file')) {
    throw new ConfigError(SETTINGS.types.env, given.types, 'add "file": SIDEKICK_FILES is set, and its records would all be dropped');
  }
  // Each disk buffer's folder, named by its destination: two sinks to one place would share it.
  const diskOwners = new Map<string, string>();
  for (const s of config.sinks) {
    if (s.buffer.kind !== 'disk') continue;
    if (config.stateDir === undefined) {
      throw new ConfigError(SETTINGS.stateDir.env, 'off', `set a folder: ${s.name} keeps its buffer there (buffer=disk)`);
    }
    const other = diskOwners.get(s.buffer.key);
    if (other !== undefined) {
      throw new ConfigError(SETTINGS.sinks.env, `${other},${s.name}`, `${other} and ${s.name} send to one place: two disk buffers there would be one folder`);
    }
    diskOwners.set(s.buffer.key, s.name);
  }
  if (parsed.values['healthcheck'] === true) return { kind: 'healthcheck', config };
  return { kind: 'run', config };
}

function givenText(flags: ReturnType<typeof parseArgs>['values'], env: NodeJS.ProcessEnv): Given {
  const given: Record<string, string | undefined> = {};
  for (const key of SETTING_KEYS) {
    const s = SETTINGS[key];
    const flag = flags[flagOf(s.env)];
    const fromEnv = env[s.env];
    given[key] = typeof flag === 'string' ? flag : fromEnv !== undefined && fromEnv !== '' ? fromEnv : s.default;
  }
  return given as Given;
}

/** Parses the rows in order: the first bad one throws. */
function readRows(given: Given): Values {
  const values: Record<string, unknown> = {};
  for (const key of SETTING_KEYS) {
    const row: Setting<unknown> = SETTINGS[key];
    const text = given[key];
    const unread = text === undefined || (row.onlyWith !== undefined && values[row.onlyWith] === undefined);
    values[key] = unread ? undefined : readRow(row, text);
  }
  return values as Values;
}

function readRow(row: Setting<unknown>, text: string): unknown {
  try {
    return row.parse(text);
  } catch (err) {
    if (err instanceof MaskedValueError) throw new ConfigError(row.env, err.shown, err.message);
    throw new ConfigError(row.env, text, (err as Error).message);
  }
}

/** Makes the Combined fields of the rows they take; every other row's value goes into the config as it is. */
function combine(values: Values, given: Given): Config {
  const { dockerTlsVerify, dockerCertPath, filesExclude, filesScanMs, include, exclude, tag, fields, ...rest } = values;
  return {
    ...rest,
    docker: dockerOptions(values.dockerHost, dockerTlsVerify, dockerCertPath),
    dockerHost: given.dockerHost,
    files:
      values.files === undefined || filesExclude === undefined || filesScanMs === undefined
        ? undefined
        : { include: values.files, exclude: filesExclude, scanMs: filesScanMs },
    containers: new Selection(include, exclude),
    decor: { tag, fields, staticFields: values.staticFields ?? {} },
  };
}

/** Reads the PEM files of DOCKER_CERT_PATH when TLS is on: one missing is a bad config. */
function dockerOptions(address: DockerAddress, tls: boolean, certPath: string): DockerOptions {
  if ('socketPath' in address) return address;
  const { host } = address;
  const port = address.port ?? (tls ? 2376 : 2375);
  if (!tls) return { host, port, protocol: 'http' };
  const dir = certPath.startsWith('~/') ? join(homedir(), certPath.slice(2)) : certPath;
  const read = (file: string): Buffer => {
    try {
      return readFileSync(join(dir, file));
    } catch (err) {
      throw new ConfigError(SETTINGS.dockerCertPath.env, certPath, `cannot read ${file}: ${(err as Error).message}`);
    }
  };
  return { host, port, protocol: 'https', ca: read('ca.pem'), cert: read('cert.pem'), key: read('key.pem') };
}
