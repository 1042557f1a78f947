// node:tls, required on first use, never imported as an ES module: an
// import builds the module's namespace by reading every export, and
// `rootCertificates` is the whole root CA store as strings, about 0.7 MiB
// resident in every sidekick, for a TLS daemon (DOCKER_TLS_VERIFY) or a
// syslog+tls sink that most never have (bench/RESULTS.md, issue 19).

import { createRequire } from 'node:module';
import type { ConnectionOptions, TLSSocket } from 'node:tls';

const require = createRequire(import.meta.url);

/** `tls.connect(options)`. */
export function tlsConnect(options: ConnectionOptions): TLSSocket {
  return (require('node:tls') as typeof import('node:tls')).connect(options);
}
