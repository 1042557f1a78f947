// Odd output, read exactly: lines around Docker's 16 KiB split, very long
// lines cut at SIDEKICK_MAX_LINE and marked, stack traces joined by the
// multiline label, invalid UTF-8 replaced (not dropped), a TTY's \r\n trimmed;
// and a burst of short-lived containers, every line once. All of it through
// the logs API and from the json-files (SIDEKICK_LOGS_SOURCE=files).

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { docker, IMAGE, NO_NETWORK, removeTestContainers, RUN_LABEL, runContainer, Sidekick, uniqueName, waitExit } from './harness.js';

const KIB = 1024;

/** Short-lived containers started in a burst; the engine here starts about two a second. */
const BURST = 200;

for (const source of ['api', 'files'] as const)
  describe(`log fidelity, logs read from ${source}`, () => {
    let sk: Sidekick;

    before(async () => {
      sk = new Sidekick({ SIDEKICK_TYPES: 'log,event', SIDEKICK_LOG_LEVEL: 'info', SIDEKICK_LOGS_SOURCE: source });
      await sk.ready();
    });

    after(async () => {
      const exit = await sk.stop();
      await removeTestContainers();
      assert.equal(exit.code, 0);
      if (source === 'files') assert.doesNotMatch(sk.stderr, /logs read through the API/, 'every container read from its json-file');
    });

    it('joins lines Docker split at 16 KiB, and cuts a 2 MiB line at 1 MiB, marked', async () => {
      const name = uniqueName('long');
      const sizes = [16 * KIB - 1, 16 * KIB, 16 * KIB + 1, 100 * KIB, 2048 * KIB];
      const cmd = sizes.map((n, i) => `head -c ${n} /dev/zero | tr '\\0' '${'abcde'[i]}'; echo`).join('; ') + '; echo after';
      await runContainer(name, [], cmd);
      await waitExit(name);
      await sk.until(() => sk.logsOf(name).some((r) => r['message'] === 'after'), 30_000, 'the line after the long ones');
      const logs = sk.logsOf(name);
      assert.equal(logs.length, 6);
      sizes.slice(0, 4).forEach((n, i) => {
        assert.equal(logs[i]!['message'], 'abcde'[i]!.repeat(n), `a line of ${n} bytes arrives whole`);
        assert.equal(logs[i]!['truncated'], undefined);
      });
      assert.equal(logs[4]!['message'], 'e'.repeat(1024 * KIB), 'cut at SIDEKICK_MAX_LINE');
      assert.equal(logs[4]!['truncated'], true);
    });

    it('joins Java and Python stack traces into one record each, by label', async () => {
      const java = uniqueName('java');
      await runContainer(
        java,
        ['-l', 'sidekick.multiline.pattern=java'],
        `printf 'starting\\nException in thread "main" java.lang.IllegalStateException: boom\\n\\tat com.example.App.run(App.java:42)\\nCaused by: java.io.IOException: disk\\n\\tat com.example.Store.write(Store.java:7)\\n\\t... 1 more\\ndone\\n'`,
      );
      const python = uniqueName('python');
      await runContainer(
        python,
        ['-l', 'sidekick.multiline.pattern=python'],
        `printf 'INFO start\\nTraceback (most recent call last):\\n  File "/app/main.py", line 2, in <module>\\n    raise ValueError("boom")\\nValueError: boom\\nINFO done\\n'`,
      );
      await waitExit(java);
      await waitExit(python);
      await sk.until(() => sk.logsOf(java).length >= 3 && sk.logsOf(python).length >= 3, 15_000, 'the traces');
      assert.deepEqual(
        sk.logsOf(java).map((r) => r['message']),
        [
          'starting',
          'Exception in thread "main" java.lang.IllegalStateException: boom\n\tat com.example.App.run(App.java:42)\nCaused by: java.io.IOException: disk\n\tat com.example.Store.write(Store.java:7)\n\t... 1 more',
          'done',
        ],
      );
      assert.deepEqual(
        sk.logsOf(python).map((r) => r['message']),
        [
          'INFO start',
          'Traceback (most recent call last):\n  File "/app/main.py", line 2, in <module>\n    raise ValueError("boom")\nValueError: boom',
          'INFO done',
        ],
      );
    });

    it('replaces invalid UTF-8, keeps control characters, trims a TTY’s \\r\\n', async () => {
      const bytes = uniqueName('bytes');
      await runContainer(bytes, [], `printf 'bad \\377\\376 end\\nbell \\007 tab \\t nul \\000 x\\nwindows\\r\\n'`);
      const tty = uniqueName('crlf');
      await runContainer(tty, ['-t'], 'echo one; echo two');
      await waitExit(bytes);
      await waitExit(tty);
      await sk.until(() => sk.logsOf(bytes).length === 3 && sk.logsOf(tty).length === 2, 15_000, 'the odd lines');
      assert.deepEqual(
        sk.logsOf(bytes).map((r) => r['message']),
        ['bad \ufffd\ufffd end', 'bell \u0007 tab \t nul \u0000 x', 'windows'],
      );
      assert.deepEqual(
        sk.logsOf(tty).map((r) => r['message']),
        ['one', 'two'],
      );
    });
  });

// One burst, read by two sidekicks at once (each as it would alone: they only
// read): one through the logs API, one from the json-files.
describe(`a burst of ${BURST} short-lived containers, read through the logs API and from the json-files`, () => {
  const readers = new Map<'api' | 'files', Sidekick>();

  before(async () => {
    for (const source of ['api', 'files'] as const) {
      readers.set(source, new Sidekick({ SIDEKICK_TYPES: 'log', SIDEKICK_LOG_LEVEL: 'info', SIDEKICK_LOGS_SOURCE: source }));
    }
    await Promise.all([...readers.values()].map((sk) => sk.ready()));
  });

  after(async () => {
    const exits = await Promise.all([...readers.values()].map((sk) => sk.stop()));
    await removeTestContainers();
    assert.deepEqual(
      exits.map((e) => e.code),
      [0, 0],
    );
    assert.doesNotMatch(readers.get('files')!.stderr, /logs read through the API/, 'every container read from its json-file');
  });

  it(`each gets every one of their ${BURST * 10} lines once`, async () => {
    const prefix = uniqueName('burst');
    const names = Array.from({ length: BURST }, (_, i) => `${prefix}-${i}`);
    const started = Date.now();
    // As many at once as the engine takes: 25 docker clients at a time.
    for (let i = 0; i < names.length; i += 25) {
      await Promise.all(
        names
          .slice(i, i + 25)
          .map((n, k) =>
            docker('run', '-d', '--name', n, '-l', RUN_LABEL, ...NO_NETWORK, IMAGE, 'sh', '-c', `for j in 1 2 3 4 5 6 7 8 9 10; do echo ${i + k}-$j; done`),
          ),
      );
    }
    process.stdout.write(`# started ${BURST} containers in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
    for (const [source, sk] of readers) {
      const all = (): string[] => sk.records.filter((r) => r.type === 'log' && r.container?.name.startsWith(prefix)).map((r) => r['message'] as string);
      try {
        await sk.until(() => all().length >= BURST * 10, 120_000, `all ${BURST * 10} lines`);
      } catch (err) {
        const got = new Set(all().map((m) => Number(m.split('-')[0])));
        const missing = names.map((_, i) => i).filter((i) => !got.has(i));
        assert.fail(
          `${source}: ${all().length} lines; no lines from ${missing.length} containers, e.g. ${missing.slice(0, 5).join(', ')}: ${(err as Error).message.slice(0, 300)}`,
        );
      }
      const got = all();
      assert.equal(new Set(got).size, BURST * 10, `${source}: each line once`);
      assert.equal(got.length, BURST * 10, `${source}: none twice`);
    }
  });
});
