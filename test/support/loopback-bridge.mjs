#!/usr/bin/env node
// Loopback plumbing for running cluster components as plain processes (test/support/knative-eventing.ts).
//
//   node loopback-bridge.mjs [--netns] [--fwd LISTEN=TARGET]... [--proxy LISTEN]...
//        [--route HOST=TARGET]... [--connect HOST:PORT=TARGET]... [-- COMMAND ARGS...]
//
// LISTEN and TARGET are tcp:127.0.0.1:PORT or unix:/path; every TARGET must be a loopback
// address or a unix socket, so nothing this bridges can leave the machine.
//   --netns    run under `unshare -n`: bring the namespace's lo up first (it is down at birth).
//   --fwd      copy bytes between each connection on LISTEN and a new connection to TARGET.
//   --proxy    an HTTP forward proxy on LISTEN (the HTTP_PROXY of Go programs): absolute-form
//              requests go to the TARGET of their host (`--route`, `*.suffix` matches a suffix,
//              Host header kept); CONNECT only to the exact HOST:PORT of a `--connect`.
//   --serve    LISTEN=HOST: origin-form requests on LISTEN go where the proxy sends HOST's (for
//              clients that cannot use a proxy).
//   --log      JSON lines on stdout for each proxied request: when it arrives (its CloudEvent
//              headers and body), when it is answered (type, subject, source, id, status, ms).
//   COMMAND    started once the listeners are up, with this process's environment and stdio;
//              SIGTERM and SIGINT are passed on, and the bridge exits with it.
import { spawn, execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { request } from 'node:http';
import { createServer as createHttpServer } from 'node:http';
import { connect, createServer, isIP } from 'node:net';

function endpoint(text) {
  if (text.startsWith('unix:')) return { path: text.slice(5) };
  const match = /^tcp:(.+):(\d+)$/.exec(text);
  if (!match) throw new Error(`bad endpoint ${text} (tcp:127.0.0.1:PORT or unix:/path)`);
  const host = match[1];
  if (isIP(host) === 0 || !(host.startsWith('127.') || host === '::1'))
    throw new Error(`refusing non-loopback ${text}`);
  return { host, port: Number(match[2]) };
}

function listen(server, text) {
  const where = endpoint(text);
  if (where.path) rmSync(where.path, { force: true });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(where.path ? { path: where.path } : { host: where.host, port: where.port }, resolve);
  });
}

function pipeBoth(a, b) {
  a.pipe(b);
  b.pipe(a);
  const end = () => {
    a.destroy();
    b.destroy();
  };
  a.on('error', end);
  b.on('error', end);
  a.on('close', end);
  b.on('close', end);
}

function pair(arg, flag) {
  const at = arg.indexOf('=');
  if (at < 0) throw new Error(`${flag} ${arg}: expected A=B`);
  return [arg.slice(0, at), arg.slice(at + 1)];
}

const args = process.argv.slice(2);
const options = { netns: false, log: false, fwd: [], proxy: [], serve: [], route: [], connect: [], command: [] };
for (let i = 0; i < args.length; i++) {
  const arg = args[i];
  if (arg === '--') {
    options.command = args.slice(i + 1);
    break;
  }
  if (arg === '--netns') options.netns = true;
  else if (arg === '--log') options.log = true;
  else if (['--fwd', '--proxy', '--serve', '--route', '--connect'].includes(arg)) options[arg.slice(2)].push(args[++i]);
  else throw new Error(`unknown option ${arg}`);
}

if (options.netns) execFileSync('ip', ['link', 'set', 'lo', 'up']);

for (const spec of options.fwd) {
  const [from, to] = pair(spec, '--fwd');
  const target = endpoint(to);
  await listen(
    createServer((socket) => pipeBoth(socket, connect(target))),
    from,
  );
}

if (options.proxy.length > 0 || options.serve.length > 0) {
  const routes = options.route.map((spec) => {
    const [host, to] = pair(spec, '--route');
    return { host, target: endpoint(to) };
  });
  const tunnels = new Map(options.connect.map((spec) => pair(spec, '--connect')).map(([h, to]) => [h, endpoint(to)]));
  const routeOf = (host) =>
    routes.find((r) => r.host === host)?.target ??
    routes.find((r) => r.host.startsWith('*.') && host.endsWith(r.host.slice(1)))?.target;
  const forward = (req, res, origin) => {
    let url;
    try {
      url = new URL(req.url ?? '', origin);
    } catch {
      res.writeHead(400).end(`not a proxy request: ${req.url}\n`);
      return;
    }
    const started = Date.now();
    if (options.log) {
      const header = (name) => req.headers[name] ?? undefined;
      // A line when the request arrives (with its CloudEvent headers and body, so a test can
      // send a copy), and one when it is answered.
      const cloudEvent = Object.fromEntries(
        Object.entries(req.headers).filter(([name]) => name.startsWith('ce-') || name === 'content-type'),
      );
      const body = [];
      req.on('data', (chunk) => body.push(chunk));
      req.on('end', () => {
        const line = { phase: 'sent', at: started, host: url.hostname, path: url.pathname, headers: cloudEvent };
        process.stdout.write(`${JSON.stringify({ ...line, body: Buffer.concat(body).toString() })}\n`);
      });
      res.on('close', () => {
        const line = {
          phase: 'answered',
          at: started,
          host: url.hostname,
          path: url.pathname,
          type: header('ce-type'),
          subject: header('ce-subject'),
          source: header('ce-source'),
          id: header('ce-id'),
          status: res.headersSent ? res.statusCode : 0,
          ms: Date.now() - started,
        };
        process.stdout.write(`${JSON.stringify(line)}\n`);
      });
    }
    const target = routeOf(url.hostname);
    if (!target) {
      res.writeHead(502).end(`no route for ${url.hostname}\n`);
      return;
    }
    const upstream = request(
      {
        ...(target.path ? { socketPath: target.path } : { host: target.host, port: target.port }),
        method: req.method,
        path: url.pathname + url.search,
        headers: req.headers,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', (error) => {
      if (!res.headersSent) res.writeHead(502).end(`${url.hostname}: ${error.message}\n`);
      else res.destroy();
    });
    req.pipe(upstream);
  };
  const tunnel = (req, client, head) => {
    const target = tunnels.get(req.url ?? '');
    if (!target) {
      client.end('HTTP/1.1 403 Forbidden\r\n\r\n');
      return;
    }
    const upstream = connect(target, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) upstream.write(head);
      pipeBoth(client, upstream);
    });
    upstream.on('error', () => client.destroy());
  };
  for (const where of options.proxy) {
    await listen(createHttpServer((req, res) => forward(req, res)).on('connect', tunnel), where);
  }
  for (const spec of options.serve) {
    const [where, host] = pair(spec, '--serve');
    await listen(
      createHttpServer((req, res) => forward(req, res, `http://${host}`)),
      where,
    );
  }
}

if (options.command.length > 0) {
  const child = spawn(options.command[0], options.command.slice(1), { stdio: 'inherit' });
  for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 128 : 1)));
  child.on('error', (error) => {
    console.error(`${options.command[0]}: ${error.message}`);
    process.exit(127);
  });
} else {
  for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => process.exit(0));
  console.log('bridge ready');
}
