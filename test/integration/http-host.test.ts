/** The one HTTP host of every qpipe server, over real HTTP on loopback. */
import { request } from 'node:http';
import { connect } from 'node:net';
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

  it('closes the connection on a client that keeps sending an oversize body after the 413', async () => {
    host = createHttpHost({ post: async () => ({ status: 202 }), maxBodyBytes: 1024 });
    const url = new URL(await host.listen(0, '127.0.0.1'));
    const socket = connect(Number(url.port), '127.0.0.1');
    let answer = '';
    socket.on('data', (c: Buffer) => (answer += c.toString()));
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    socket.on('error', () => undefined);
    socket.write('POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n');
    // Up to 256 MiB, ignoring the answer, as a hostile client would.
    const chunk = `${(64 * 1024).toString(16)}\r\n${'x'.repeat(64 * 1024)}\r\n`;
    let sent = 0;
    while (sent < 4096 && !socket.destroyed) {
      if (!socket.write(chunk)) await Promise.race([new Promise((r) => socket.once('drain', r)), closed]);
      sent++;
    }
    await closed;
    expect(answer).toMatch(/^HTTP\/1\.1 413/);
    expect(sent).toBeLessThan(4096);
  });

  it('answers 408 and frees the slot of clients trickling their bodies a byte at a time, while health answers', async () => {
    let posted = 0;
    host = createHttpHost({
      post: async () => ({ status: 202, body: String(++posted) }),
      maxConcurrentPosts: 8,
      bodyDeadlineMs: 1_000,
    });
    const url = new URL(await host.listen(0, '127.0.0.1'));
    // Every slot held by a client that promises 100 bytes and sends one every 200 ms.
    const trickle = () =>
      new Promise<string>((resolve) => {
        const socket = connect(Number(url.port), '127.0.0.1');
        let answer = '';
        socket.on('data', (c: Buffer) => (answer += c.toString()));
        socket.on('error', () => undefined);
        socket.on('close', () => {
          clearInterval(timer);
          resolve(answer);
        });
        socket.write('POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n');
        const timer = setInterval(() => socket.destroyed || socket.write('x'), 200);
      });
    const clients = Array.from({ length: 8 }, trickle);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect((await fetch(`${url.origin}/healthz`)).status).toBe(200);
    const answers = await Promise.all(clients);
    for (const answer of answers) expect(answer).toMatch(/^HTTP\/1\.1 408/);
    expect(posted).toBe(0);
    // The slots are free again.
    expect((await fetch(url.origin, { method: 'POST', body: '{}' })).status).toBe(202);
  });
});
