// Certificates for tests of TLS: made by the openssl command, in a folder the test gives.

import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);

/** A CA, a server certificate for 127.0.0.1/localhost signed by it, and a second, unrelated CA. */
export async function makeCerts(dir: string): Promise<{ ca: string; cert: string; key: string; otherCa: string }> {
  const f = (name: string): string => join(dir, name);
  const ssl = (...args: string[]): Promise<unknown> => exec('openssl', args);
  await ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=sidekick test CA', '-keyout', f('ca.key'), '-out', f('ca.pem'));
  await ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=other CA', '-keyout', f('other.key'), '-out', f('other.pem'));
  await ssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-keyout', f('server.key'), '-out', f('server.csr'));
  writeFileSync(f('ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  await ssl(
    'x509',
    '-req',
    '-in',
    f('server.csr'),
    '-CA',
    f('ca.pem'),
    '-CAkey',
    f('ca.key'),
    '-CAcreateserial',
    '-days',
    '2',
    '-extfile',
    f('ext.cnf'),
    '-out',
    f('server.pem'),
  );
  return { ca: f('ca.pem'), cert: f('server.pem'), key: f('server.key'), otherCa: f('other.pem') };
}
