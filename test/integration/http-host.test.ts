/** The one HTTP host of every qpipe server, over real HTTP on loopback. */
import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { createHttpHost, type HttpHost } from '../../shared/runtime/http-host.ts';
import { freePort } from '../support/kube-apiserver.ts';

describe('HTTP host (real HTTP on loopback)', () => {
  let host: HttpHost | undefined;
  afterEach(async () => host?.shutdown());

  it('serves metrics on their own port when given one, and not on the request port', async () => {
    const metricsPort = await freePort();
    host = createHttpHost({ post: async () => ({ status: 202 }), metricsPort });
    const url = await host.listen(0, '127.0.0.1');
    expect((await fetch(`${url}/metrics`)).status).toBe(404);
    const scrape = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    expect(scrape.status).toBe(200);
    expect(scrape.headers.get('content-type')).toContain('text/plain');
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
  });

  it('refuses a chunked body as soon as it passes the limit, without reading it whole', async () => {
    let posted = 0;
    host = createHttpHost({ post: async () => ({ status: 202, body: String(++posted) }), maxBodyBytes: 1024 });
    const url = new URL(await host.listen(0, '127.0.0.1'));
    let sent = 0;
    const status = await new Promise<number>((resolve, reject) => {
      const req = request({ host: url.hostname, port: url.port, method: 'POST', path: '/' }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
        req.destroy();
      });
      req.on('error', (error) => (sent > 0 ? undefined : reject(error)));
      // 64 MiB in 64 KiB chunks, unless the server answers first.
      const chunk = Buffer.alloc(64 * 1024, 'x');
      const pump = () => {
        while (sent < 1024 && req.write(chunk)) sent++;
        if (sent < 1024) req.once('drain', pump);
        else req.end();
      };
      pump();
    });
    expect(status).toBe(413);
    expect(posted).toBe(0);
    expect(sent).toBeLessThan(1024);
  });
});
