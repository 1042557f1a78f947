// FileSource: globs, exclusions, files that appear later, owners and positions.

import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fingerprintOfStart } from '../../../../src/sources/files/file-tail.js';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { Events } from '../../../../src/observe/events.js';
import { VolumeOwners } from '../../../../src/sources/docker/owners.js';
import type { FilePosition } from '../../../../src/core/record.js';
import { compileTag } from '../../../../src/transforms/decorate.js';
import { ContainerPolicy } from '../../../../src/transforms/policy.js';
import { Selection } from '../../../../src/transforms/route.js';
import { containerMeta, type FileRecord } from '../../../../src/core/record.js';
import { FileSource, globBase, type FileSourceContext } from '../../../../src/sources/files/source.js';
import { memoryLog } from '../../memory-log.js';
import { Flow } from '../../../../src/core/flow.js';
import { waitFor } from '../../wait.js';

const log = pino({ level: 'silent' });

describe('globBase', () => {
  it('is the folder before the first wildcard', () => {
    assert.equal(globBase('/var/log/app/*.log'), '/var/log/app');
    assert.equal(globBase('/var/log/**/x.log'), '/var/log');
    assert.equal(globBase('/data/app.log'), '/data');
    assert.equal(globBase('/*.log'), '/');
  });
});

function context(
  records: FileRecord[],
  owners: VolumeOwners,
  positions: FileSourceContext['positions'],
  events = new Events(log, new Registry()),
): FileSourceContext {
  return {
    host: 'h',
    log,
    events,
    emit: (r) => records.push(r),
    maxLine: 1024,
    owners,
    positions,
    policy: new ContainerPolicy({
      types: new Set(['file']),
      containers: new Selection(),
      decor: { tag: compileTag('{{.Name}}'), fields: [], staticFields: {} },
      parseJson: false,
      badLabel: () => undefined,
    }),
    redact: undefined,
  };
}

describe('FileSource', () => {
  it('tails matching files, skips excluded ones, picks up files created later, tags the owner, forgets deleted files', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sidekick-files-'));
    mkdirSync(join(dir, 'app'));
    writeFileSync(join(dir, 'app', 'a.log'), 'a1\n');
    writeFileSync(join(dir, 'app', 'a.log.1'), 'rotated\n');
    writeFileSync(join(dir, 'app', 'old.log.gz'), 'zipped\n');
    const records: FileRecord[] = [];
    const forgotten: string[] = [];
    const owners = new VolumeOwners();
    owners.set(containerMeta('a'.repeat(64), '/app', 'img', {}), [{ Source: join(dir, 'app'), Destination: '/logs' }]);
    const source = new FileSource(
      { include: [join(dir, '**', '*.log*')], exclude: ['*.gz', '*.[0-9]'], scanMs: 60_000 },
      context(records, owners, { file: () => undefined, forgetFile: (p) => forgotten.push(p) }),
    );
    try {
      await source.start();
      await waitFor('a.log', () => records.length === 1);
      writeFileSync(join(dir, 'app', 'b.log'), 'b1\n');
      await waitFor('b.log, created later (inotify)', () => records.some((r) => r.message === 'b1'));
      appendFileSync(join(dir, 'app', 'a.log'), 'a2\n');
      await waitFor('a2', () => records.some((r) => r.message === 'a2'));
      assert.deepEqual(records.map((r) => r.message).sort(), ['a1', 'a2', 'b1']);
      assert.ok(records.every((r) => r.container?.name === 'app' && r.type === 'file' && r.host === 'h'));
      assert.equal(records[0]!.path, join(dir, 'app', 'a.log'));
      assert.equal(source.count, 2);
      unlinkSync(join(dir, 'app', 'b.log'));
      await waitFor('the deleted file given up', () => forgotten.length === 1, 10_000);
      assert.deepEqual(forgotten, [join(dir, 'app', 'b.log')]);
    } finally {
      await source.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads nothing while a file is being opened: a file rotated while sidekick was down is finished once, from its position, before the new one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sidekick-files-'));
    const app = join(dir, 'app.log');
    writeFileSync(`${app}.1`, '1\n2\n3\n');
    writeFileSync(app, '4\n');
    const rotated = statSync(`${app}.1`);
    const saved: FilePosition = {
      path: app,
      dev: rotated.dev,
      ino: rotated.ino,
      fingerprint: fingerprintOfStart(Buffer.from('1\n'))!,
      generation: -1,
      offset: 4,
    };
    const records: FileRecord[] = [];
    const positions = {
      file: (p: string): FilePosition | undefined => {
        // The app writes while the file is opened: inotify asks for a read meanwhile.
        appendFileSync(app, '5\n');
        return p === app ? saved : undefined;
      },
      forgetFile: () => undefined,
    };
    const source = new FileSource({ include: [join(dir, '*.log')], exclude: [], scanMs: 60_000 }, context(records, new VolumeOwners(), positions));
    try {
      await source.start();
      await waitFor('the lines after the position', () => records.length >= 3);
      appendFileSync(app, '6\n');
      await waitFor('a line written later', () => records.some((r) => r.message === '6'));
      assert.deepEqual(
        records.map((r) => r.message),
        ['3', '4', '5', '6'],
      );
    } finally {
      await source.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("reads a file again for a sink that fell behind, from its position to the end, with the live read's positions; not once the path holds another file", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sidekick-files-'));
    const path = join(dir, 'app.log');
    writeFileSync(path, 'l1\nl2\nl3\nl4\n');
    const records: FileRecord[] = [];
    const source = new FileSource(
      { include: [join(dir, '*.log')], exclude: [], scanMs: 60_000 },
      context(records, new VolumeOwners(), { file: () => undefined, forgetFile: () => undefined }),
    );
    try {
      await source.start();
      await waitFor('the lines', () => records.length === 4);
      const again: FileRecord[] = [];
      const into = { emit: (r: FileRecord) => again.push(r), flow: new Flow(), signal: new AbortController().signal };
      const from: FilePosition = { ...records[1]!.file, offset: records[1]!.end };
      assert.equal(await source.readAgain(from, into as never), true);
      assert.deepEqual(
        again.map((r) => [r.message, r.file, r.start, r.end]),
        records.slice(2).map((r) => [r.message, r.file, r.start, r.end]),
        'the same lines, at the same positions of the same file',
      );
      unlinkSync(path);
      writeFileSync(path, 'new\n');
      assert.equal(await source.readAgain(from, into as never), false);
    } finally {
      await source.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('says a file it cannot read once, and counts it once, however often it is tried again', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sidekick-files-'));
    const path = join(dir, 'app.log');
    writeFileSync(path, 'a1\n');
    const records: FileRecord[] = [];
    const registry = new Registry();
    const said = memoryLog();
    const events = new Events(said.log, registry);
    const source = new FileSource(
      { include: [join(dir, '*.log')], exclude: [], scanMs: 60_000 },
      context(records, new VolumeOwners(), { file: () => undefined, forgetFile: () => undefined }, events),
    );
    const unreadable = () => said.lines.filter((l) => l.msg === 'cannot read file; trying again');
    try {
      await source.start();
      await waitFor('a1', () => records.length === 1);
      // A folder where the file was: opened, but every read fails (EISDIR).
      unlinkSync(path);
      mkdirSync(path);
      await waitFor('the read error said', () => unreadable().length > 0);
      // Tried again each second (and at each change): said and counted once all the same.
      await new Promise((resolve) => setTimeout(resolve, 2_200));
      assert.deepEqual(
        unreadable().map((l) => [l['path'], String(l['err']).split(':')[0]]),
        [[path, 'EISDIR']],
      );
      const counted = (await registry.getSingleMetric('sidekick_file_read_errors_total')?.get())?.values[0]?.value;
      assert.equal(counted, 1);
    } finally {
      await source.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
