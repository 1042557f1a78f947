// Container matchers, selections and sink routes.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { containerMeta } from '../../../src/core/record.js';
import { parseMatcher, parseMatchers, routeFromQuery, routeTakes, Selection } from '../../../src/transforms/route.js';
import { logPositions } from '../../../src/sources/docker/log-position.js';

const web = containerMeta('a'.repeat(64), '/shop-web-1', 'nginx:1.27', {
  'com.docker.compose.project': 'shop',
  'com.docker.compose.service': 'web',
  tier: 'front',
});
const db = containerMeta('b'.repeat(64), '/db', 'postgres:16', { tier: 'back', backup: '' });

describe('matchers', () => {
  const cases: [string, boolean, boolean][] = [
    ['name:shop-*', true, false],
    ['name:/^d.$/', false, true],
    ['name:/WEB/i', true, false],
    ['image:nginx:*', true, false],
    ['image:postgres*', false, true],
    ['label:backup', false, true],
    ['label:tier=front', true, false],
    ['label:tier=b*', false, true],
    ['compose.project:shop', true, false],
    ['compose.service:w?b', true, false],
  ];
  for (const [text, onWeb, onDb] of cases) {
    it(`${text} matches web: ${onWeb}, db: ${onDb}`, () => {
      const m = parseMatcher(text);
      assert.equal(m(web), onWeb);
      assert.equal(m(db), onDb);
    });
  }

  it('refuses what it cannot read, saying what a matcher is', () => {
    assert.throws(() => parseMatcher('nmae:web'), /name:…, image:…, label:…/);
    assert.throws(() => parseMatcher('web'), /a matcher is/);
    assert.throws(() => parseMatcher('name:'), /nothing to match/);
    assert.throws(() => parseMatcher('name:/(/'), /name:\/\(\//);
  });

  it('reads a comma-separated list, blanks ignored', () => {
    assert.equal(parseMatchers(' name:web* , ,label:tier ').length, 2);
    assert.deepEqual(parseMatchers(''), []);
  });
});

describe('Selection', () => {
  it('include narrows, exclude wins, none selects all', () => {
    assert.ok(new Selection().all);
    assert.ok(new Selection().selects(web));
    const s = new Selection(parseMatchers('label:tier'), parseMatchers('image:postgres*'));
    assert.equal(s.selects(web), true);
    assert.equal(s.selects(db), false, 'excluded though included');
    assert.equal(new Selection(parseMatchers('name:other')).selects(web), false);
  });
});

describe('routeFromQuery', () => {
  it('reads types, include and exclude, with commas decoded', () => {
    const route = routeFromQuery(new URL('http://h/?types=log%2Cevent&include=compose.project:shop').searchParams);
    assert.deepEqual(route.types, new Set(['log', 'event']));
    const log = { type: 'log', position: logPositions, time: 't', host: 'h', stream: 'stdout', seq: 1, message: 'm' } as const;
    assert.equal(routeTakes(route, { ...log, container: web }), true);
    assert.equal(routeTakes(route, { ...log, container: db }), false);
    assert.equal(routeTakes(route, { type: 'inspect', time: 't', host: 'h', container: web, inspect: {} }), false, 'not of its types');
    const daemonEvent = {
      type: 'event',
      time: 't',
      host: 'h',
      object: 'daemon',
      action: 'reload',
      actor: { id: 'x', attributes: {} },
      scope: 'local',
    } as const;
    assert.equal(routeTakes(route, daemonEvent), true, 'a record of no container passes include');
  });

  it('names a bad option', () => {
    assert.throws(() => routeFromQuery(new URLSearchParams('types=logs')), /types=logs: unknown type "logs"/);
    assert.throws(() => routeFromQuery(new URLSearchParams('exclude=nope')), /exclude=nope/);
  });
});
