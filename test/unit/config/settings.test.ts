// The rows of settings.ts are the only list of settings: these tests keep each
// row whole, and each row's value in the Config.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { helpText, loadConfig, type Config } from '../../../src/config/load.js';
import { SETTING_KEYS, SETTING_NAMES, SETTINGS, type Setting, type SettingKey } from '../../../src/config/settings.js';

/** The rows that only mean something with others, and the Config field they go into. */
const FOLDED = {
  dockerTlsVerify: 'docker',
  dockerCertPath: 'docker',
  filesExclude: 'files',
  filesScanMs: 'files',
  include: 'containers',
  exclude: 'containers',
  tag: 'decor',
  fields: 'decor',
} as const satisfies Partial<Record<SettingKey, keyof Config>>;

// Checked by the compiler: every other row is a Config field of its own.
const everyRowIsAField: Exclude<SettingKey, keyof typeof FOLDED> extends keyof Config ? true : false = true;

function flagOf(env: string): string {
  return `--${env
    .replace(/^SIDEKICK_/, '')
    .toLowerCase()
    .replaceAll('_', '-')}`;
}

describe('settings', () => {
  it('has, in every row, a variable, a help text, a default or none, and a parser', () => {
    for (const key of SETTING_KEYS) {
      const row: Setting<unknown> = SETTINGS[key];
      assert.match(row.env, /^[A-Z][A-Z0-9_]*$/, key);
      assert.ok(row.help.trim().length > 0, `${key}: help`);
      assert.ok(row.default === undefined || typeof row.default === 'string', `${key}: default`);
      assert.equal(typeof row.parse, 'function', `${key}: parse`);
    }
  });

  it('gives every setting its own variable and flag, none of them --help, --version or --healthcheck', () => {
    assert.equal(new Set(SETTING_NAMES).size, SETTING_NAMES.length);
    const flags = SETTING_NAMES.map(flagOf);
    assert.equal(new Set(flags).size, flags.length);
    for (const taken of ['--help', '--version', '--healthcheck']) assert.ok(!flags.includes(taken), taken);
  });

  it('lists every setting in --help with its flag', () => {
    const text = helpText();
    for (const name of SETTING_NAMES) assert.ok(text.includes(`  ${flagOf(name)}, ${name}\n`), name);
  });

  it('parses every default', () => {
    for (const key of SETTING_KEYS) {
      const row: Setting<unknown> = SETTINGS[key];
      if (row.default !== undefined) assert.doesNotThrow(() => row.parse(row.default!), key);
    }
  });

  it('names, in onlyWith, an earlier row', () => {
    for (const [i, key] of SETTING_KEYS.entries()) {
      const row: Setting<unknown> = SETTINGS[key];
      if (row.onlyWith !== undefined) assert.ok(SETTING_KEYS.slice(0, i).includes(row.onlyWith as SettingKey), `${key}: ${row.onlyWith}`);
    }
  });

  it("puts every row's value in the Config: under its key, or in the field it is combined into", () => {
    assert.ok(everyRowIsAField);
    const result = loadConfig([], {});
    assert.equal(result.kind, 'run');
    const fields = Object.keys(result.kind === 'run' ? result.config : {});
    for (const key of SETTING_KEYS) {
      const field = (FOLDED as Partial<Record<SettingKey, string>>)[key] ?? key;
      assert.ok(fields.includes(field), `${key} -> ${field}`);
    }
    for (const field of fields) {
      assert.ok((SETTING_KEYS as string[]).includes(field) || Object.values(FOLDED).includes(field as never), `${field}: no row`);
    }
  });
});
