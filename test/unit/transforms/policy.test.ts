// Per container: collected or not, which types, JSON parsing.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileTag } from '../../../src/transforms/decorate.js';
import { ContainerPolicy, isJsonObject, typeList } from '../../../src/transforms/policy.js';
import { containerMeta } from '../../../src/core/record.js';
import { parseMatchers, Selection } from '../../../src/transforms/route.js';

const bad: string[] = [];
const policy = new ContainerPolicy({
  types: new Set(['log', 'event', 'inspect']),
  containers: new Selection([], parseMatchers('name:skip-*')),
  decor: { tag: compileTag('{{.Name}}'), fields: [], staticFields: {} },
  parseJson: false,
  badLabel: (_m, label, value) => bad.push(`${label}=${value}`),
});
const meta = (name: string, labels: Record<string, string> = {}): ReturnType<typeof containerMeta> => containerMeta('c'.repeat(64), name, 'img', labels);

describe('ContainerPolicy', () => {
  it('collects the global types, nothing of an excluded container', () => {
    assert.deepEqual(policy.typesOf(meta('web')), new Set(['log', 'event', 'inspect']));
    assert.deepEqual(policy.typesOf(meta('skip-me')), new Set());
  });

  it('follows the container’s sidekick.exclude and sidekick.include labels', () => {
    assert.deepEqual(policy.typesOf(meta('a', { 'sidekick.exclude': 'true' })), new Set());
    assert.deepEqual(policy.typesOf(meta('a', { 'sidekick.exclude': 'logs,events' })), new Set(['inspect']));
    assert.deepEqual(policy.typesOf(meta('a', { 'sidekick.include': 'stats' })), new Set(['log', 'event', 'inspect', 'stats']));
    assert.deepEqual(policy.typesOf(meta('a', { 'sidekick.include': 'files', 'sidekick.exclude': 'inspect' })), new Set(['log', 'event', 'file']));
  });

  it('reports a label it cannot read and ignores it', () => {
    bad.length = 0;
    assert.deepEqual(policy.typesOf(meta('a', { 'sidekick.exclude': 'everything' })), new Set(['log', 'event', 'inspect']));
    assert.deepEqual(bad, ['sidekick.exclude=everything']);
  });

  it('parses JSON by label, or by the global setting', () => {
    assert.equal(policy.parsesJson(meta('a')), false);
    assert.equal(policy.parsesJson(meta('a', { 'sidekick.parse': 'json' })), true);
    assert.equal(policy.parsesJson(undefined), false);
  });

  it('reads type lists in singular or plural', () => {
    assert.deepEqual(typeList('logs, stats,file'), new Set(['log', 'stats', 'file']));
    assert.equal(typeList('logz'), undefined);
  });
});

describe('isJsonObject', () => {
  it('is true only for a whole JSON object', () => {
    assert.equal(isJsonObject('{"level":"info","n":1}'), true);
    assert.equal(isJsonObject('{"a":1} trailing'), false);
    assert.equal(isJsonObject('[1,2]'), false);
    assert.equal(isJsonObject('{not json'), false);
    assert.equal(isJsonObject('plain'), false);
  });
});
