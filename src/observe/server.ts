// sidekick's own HTTP server: /metrics for Prometheus, /healthz (alive and
// doing its job, or a cause a restart would cure: health.ts), /readyz (the
// Docker daemon answers and the event stream is attached) and
// /status (each container's stream and lag, each sink's buffer and last
// error: "it stopped sending" diagnosed in one request), and /tap (the live
// stream, when on). GET only. With a token, /metrics, /status and /tap need
// `Authorization: Bearer <token>`; /healthz and /readyz stay open for probes.

import { timingSafeEqual } from 'node:crypto';
import { createServer, type ServerResponse, type Server } from 'node:http';
import type { Registry } from 'prom-client';
import type { Health } from './health.js';

export interface Readiness {
  readonly ready: boolean;
  readonly reason?: string;
}

export interface ServerSources {
  readonly registry: Registry;
  health(): Health;
  readiness(): Readiness;
  status(): unknown;
  /** Required of /metrics, /status and /tap when set. */
  readonly token?: string | undefined;
  /** Serves /tap with the request's query; undefined: /tap is off. */
  readonly tap?: ((res: ServerResponse, query: URLSearchParams) => void) | undefined;
}

function authorized(header: string | undefined, token: string | undefined): boolean {
  if (token === undefined) return true;
  const want = Buffer.from(`Bearer ${token}`);
  const got = Buffer.from(header ?? '');
  return got.length === want.length && timingSafeEqual(got, want);
}

const OPEN = new Set(['/healthz', '/readyz']);

export async function startServer(addr: { readonly host: string | undefined; readonly port: number }, sources: ServerSources): Promise<Server> {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://sidekick');
    const path = url.pathname;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    const json = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body) + '\n');
    };
    if (!OPEN.has(path) && !authorized(req.headers.authorization, sources.token)) {
      res.setHeader('www-authenticate', 'Bearer');
      json(401, { error: 'a bearer token is required (SIDEKICK_METRICS_TOKEN)' });
      return;
    }
    switch (path) {
      case '/metrics':
        sources.registry.metrics().then(
          (text) => res.writeHead(200, { 'content-type': sources.registry.contentType }).end(text),
          (err: Error) => res.writeHead(500).end(err.message),
        );
        return;
      case '/healthz': {
        const h = sources.health();
        json(h.healthy ? 200 : 503, h);
        return;
      }
      case '/readyz': {
        const r = sources.readiness();
        json(r.ready ? 200 : 503, r);
        return;
      }
      case '/status':
        json(200, sources.status());
        return;
      case '/tap':
        if (sources.tap === undefined) {
          json(404, { error: '/tap is off (SIDEKICK_TAP=on turns it on)' });
          return;
        }
        try {
          sources.tap(res, url.searchParams);
        } catch (err) {
          json(400, { error: (err as Error).message });
        }
        return;
      default:
        res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(addr.port, addr.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}
