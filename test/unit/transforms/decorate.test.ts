// Tag templates, fields and static fields.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileTag, decorate, parseFieldSources, parseStaticFields } from '../../../src/transforms/decorate.js';
import { containerMeta } from '../../../src/core/record.js';

const ID = '0123456789abcdef'.repeat(4);
const IMAGE_ID = 'sha256:' + 'fedcba9876543210'.repeat(4);
const meta = containerMeta(ID, '/web', 'nginx:1.27', { team: 'shop', 'with space': 'x y' });

describe('compileTag', () => {
  const cases: [string, string][] = [
    ['{{.ID}}', ID.slice(0, 12)],
    ['{{.FullID}}', ID],
    ['{{.Name}}', 'web'],
    ['{{.ImageName}}', 'nginx:1.27'],
    ['{{.ImageID}}', 'fedcba987654'],
    ['{{.ImageFullID}}', IMAGE_ID],
    ['{{.DaemonName}}', 'docker'],
    ['{{.Label "team"}}', 'shop'],
    ['{{ .Label "with space" }}', 'x y'],
    ['{{.Label "missing"}}', ''],
    ['app/{{.Name}}-{{.ID}}', `app/web-${ID.slice(0, 12)}`],
    ['plain', 'plain'],
  ];
  for (const [template, want] of cases) {
    it(`${template} -> ${want}`, () => {
      assert.equal(compileTag(template)(meta, { imageId: IMAGE_ID }), want);
    });
  }

  it('refuses an unknown placeholder or a broken template, listing what is allowed', () => {
    assert.throws(() => compileTag('{{.Nmae}}'), /\{\{\.Nmae\}\}: allowed: \{\{\.ID\}\}/);
    assert.throws(() => compileTag('{{.Name'), /never closed/);
    assert.throws(() => compileTag('{{Name}}'), /allowed/);
    assert.throws(() => compileTag('{{.Label team}}'), /allowed/);
    assert.throws(() => compileTag('a}}b'), /without "\{\{"/);
  });
});

describe('fields', () => {
  it('copies chosen env vars and labels, over the static fields', () => {
    const d = decorate(
      meta,
      { env: ['DEPLOY_ENV=prod', 'SECRET=x', 'EMPTY='] },
      {
        tag: compileTag('{{.Name}}'),
        fields: parseFieldSources('env:DEPLOY_ENV,label:team,env:EMPTY,env:ABSENT'),
        staticFields: parseStaticFields('dc=ams1, cluster=blue'),
      },
    );
    assert.equal(d.tag, 'web');
    assert.deepEqual(d.fields, { dc: 'ams1', cluster: 'blue', DEPLOY_ENV: 'prod', team: 'shop', EMPTY: '' });
  });

  it('adds no fields object when there are none', () => {
    const d = decorate(meta, {}, { tag: compileTag('{{.ID}}'), fields: [], staticFields: {} });
    assert.equal('fields' in d, false);
  });

  it('refuses malformed field lists', () => {
    assert.throws(() => parseFieldSources('DEPLOY_ENV'), /env:NAME or label:key/);
    assert.throws(() => parseStaticFields('dc'), /key=value/);
    assert.throws(() => parseStaticFields('=x'), /key=value/);
  });
});
