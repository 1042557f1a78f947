// Syslog sinks against a real rsyslogd on loopback: every line of a container
// arrives over UDP, TCP and TLS, parsed by rsyslog into the right host name,
// app name, severity and message; a line too long for a datagram is cut, not
// fatal; TLS with the wrong CA is refused and nothing is sent in clear.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { docker, removeTestContainers, runContainer, Sidekick, sleep, uniqueName, waitExit } from './harness.js';
import { Rsyslog, type Received } from './rsyslog.js';

const INPUTS = { udp: 'imudp', tcp: 'imptcp', tls: 'imtcp' } as const;

describe('syslog sinks with a real rsyslog', () => {
  const rsyslog = new Rsyslog();
  let host: string;

  before(async () => {
    host = await docker('info', '--format', '{{.Name}}');
    await rsyslog.start();
  });

  after(async () => {
    await rsyslog.stop();
    await removeTestContainers();
  });

  it('delivers every line over UDP (RFC 5424), TCP (RFC 3164) and TLS (RFC 5424), parsed right', async () => {
    const sinks = [
      `syslog+udp://127.0.0.1:${rsyslog.udpPort}?facility=local3`,
      `syslog+tcp://127.0.0.1:${rsyslog.tcpPort}?format=rfc3164`,
      `syslog+tls://localhost:${rsyslog.tlsPort}?ca=${rsyslog.certs!.ca}`,
    ];
    const sk = new Sidekick({ SIDEKICK_SINKS: sinks.join(','), SIDEKICK_TYPES: 'log,event' });
    const name = uniqueName('syslog');
    try {
      await sk.ready();
      const id = await runContainer(
        name,
        [],
        'i=0; while [ $i -lt 200 ]; do i=$((i+1)); echo "line $i"; done; echo "oops ünïcödé" >&2; ' + 'head -c 5000 /dev/zero | tr "\\0" "x"; echo',
      );
      await waitExit(name);
      const ofContainer = (input: string): Received[] =>
        rsyslog.received().filter((r) => r.input === input && r.app === name && (r.msgid === 'log' || r.msgid === '-'));
      const logLines = (input: string): Received[] => ofContainer(input).filter((r) => !r.msg.trimStart().startsWith('{"type":"event"'));
      await sk.until(
        () => Object.values(INPUTS).every((input) => logLines(input).length >= 202),
        20_000,
        () =>
          `all lines at every rsyslog input (have ${Object.entries(INPUTS)
            .map(([t, input]) => `${t}: ${logLines(input).length}`)
            .join(', ')} of 202)`,
      );
      await sleep(500);
      for (const [transport, input] of Object.entries(INPUTS)) {
        const got = logLines(input);
        const messages = got.map((r) => r.msg.replace(/^ /, ''));
        const expected = Array.from({ length: 200 }, (_, i) => `line ${i + 1}`);
        assert.deepEqual(
          messages.filter((m) => m.startsWith('line ')),
          expected,
          `${transport}: every numbered line once, in order`,
        );
        const err = got.find((r) => r.msg.includes('oops'))!;
        assert.equal(err.severity, 'err', transport);
        assert.equal(err.msg.trim(), 'oops ünïcödé', transport);
        const info = got.find((r) => r.msg.includes('line 1'))!;
        assert.equal(info.severity, 'info', transport);
        assert.equal(info.hostname, host, transport);
        assert.equal(info.facility, transport === 'udp' ? 'local3' : 'daemon', transport);
        if (transport !== 'tcp') {
          assert.equal(info.msgid, 'log', transport);
          assert.match(info.sd, new RegExp(`^\\[sidekick@32473 id="${id}" name="${name}" image="[^"]+" stream="stdout"\\]$`));
        }
        const long = got.find((r) => r.msg.includes('xxxx'))!;
        if (transport === 'udp') {
          assert.ok(long.msg.length < 2048, `a UDP message is cut to the datagram limit (${long.msg.length})`);
          assert.ok(long.msg.length > 1500, 'and keeps what fits');
        } else {
          assert.equal(long.msg.trim(), 'x'.repeat(5000), `${transport} carries the whole line`);
        }
      }
      const events = rsyslog.received().filter((r) => r.input === 'imtcp' && r.msgid === 'event' && r.app === name);
      assert.ok(
        events.some((r) => JSON.parse(r.msg).action === 'die'),
        'events arrive as JSON with severity notice',
      );
      assert.ok(events.every((r) => r.severity === 'notice'));
    } finally {
      const exit = await sk.stop();
      assert.equal(exit.code, 0);
    }
  });

  it('reconnects over TCP when rsyslog restarts, and never sends half a message', async () => {
    const sk = new Sidekick({ SIDEKICK_SINKS: `syslog+tcp://127.0.0.1:${rsyslog.tcpPort}`, SIDEKICK_TYPES: 'log' });
    const name = uniqueName('reconnect');
    try {
      await sk.ready();
      await runContainer(name, [], 'i=0; while [ $i -lt 120 ]; do i=$((i+1)); echo "r-$i"; sleep 0.05; done');
      const mine = (): Received[] => rsyslog.received().filter((r) => r.input === 'imptcp' && r.app === name);
      await sk.until(() => mine().length >= 10, 15_000, 'the first lines');
      await rsyslog.restart(1000);
      await waitExit(name);
      await sk.until(() => mine().some((r) => r.msg === 'r-120'), 20_000, 'the last line after the restart');
      await sk.until(() => /sink delivering again/.test(sk.stderr), 5_000, 'the recovery to be logged');
      for (const r of mine()) assert.match(r.msg, /^r-\d+$/, 'whole messages only');
      const got = new Set(mine().map((r) => Number(r.msg.slice(2))));
      // What was in flight when rsyslog went away may be lost (TCP has no
      // receipts); what was printed well after it came back all arrives.
      for (let n = 80; n <= 120; n++) assert.ok(got.has(n), `r-${n} arrived`);
    } finally {
      const exit = await sk.stop();
      assert.equal(exit.code, 0);
    }
  });

  it('refuses TLS to a server its CA does not vouch for, says so once, and sends nothing in clear', async () => {
    const before = rsyslog.received().filter((r) => r.input === 'imtcp').length;
    const sk = new Sidekick({
      SIDEKICK_SINKS: `syslog+tls://localhost:${rsyslog.tlsPort}?ca=${rsyslog.certs!.otherCa}`,
      SIDEKICK_TYPES: 'log',
    });
    const name = uniqueName('badca');
    try {
      await sk.ready();
      await runContainer(name, [], 'echo must-not-arrive');
      await waitExit(name);
      await sk.until(() => /sink write failed; retrying/.test(sk.stderr), 15_000, 'the TLS failure to be reported');
      await sleep(2000);
      assert.equal(sk.stderr.match(/sink write failed; retrying/g)?.length, 1, 'reported once, not per retry');
      assert.match(sk.stderr, /"kind":"tls"/);
      assert.equal(rsyslog.received().filter((r) => r.input === 'imtcp').length, before);
      assert.ok(!rsyslog.received().some((r) => r.msg.includes('must-not-arrive')));
    } finally {
      const exit = await sk.stop();
      assert.equal(exit.code, 0);
      assert.match(sk.stderr, /stopped with records not delivered/);
    }
  });
});
