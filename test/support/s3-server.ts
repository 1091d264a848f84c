/**
 * A real S3-compatible server for tests: s3rver (the npm package) on loopback. s3rver
 * ignores conditional writes, so it sits behind a small front that answers 412
 * PreconditionFailed as S3 does when `If-Match` or `If-None-Match: *` fails. Requests on one
 * key are serialised, so the check and the write are atomic and a read never sees half a
 * write (S3 reads are atomic; s3rver's file writes are not).
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';

/** A running server and a client for it. */
export interface S3TestServer {
  readonly client: S3Client;
  readonly endpoint: string;
  /** Conditional writes the front refused with 412. */
  readonly refused: () => number;
  close(): Promise<void>;
}

interface Store {
  getMetadata(bucket: string, key: string): Promise<{ etag: string }>;
}

/** Starts s3rver with the given buckets behind the conditional-write front. */
export async function startS3Server(buckets: readonly string[]): Promise<S3TestServer> {
  const directory = await mkdtemp(join(tmpdir(), 'qpipe-s3-'));
  const s3rver = new S3rver({
    silent: true,
    // Any free port: s3rver's default (4568) collides when test files run in parallel. Requests reach it through the front below.
    port: 0,
    address: '127.0.0.1',
    directory,
    configureBuckets: buckets.map((name) => ({ name, configs: [] })),
  });
  await s3rver.run();
  const handler = (s3rver as unknown as { callback(): (req: IncomingMessage, res: unknown) => void }).callback();
  const store = (s3rver as unknown as { store: Store }).store;
  const queues = new Map<string, Promise<void>>();
  let refused = 0;

  const front: Server = createServer((req, res) => {
    const ifMatch = req.headers['if-match'];
    const ifNoneMatch = req.headers['if-none-match'];
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname).slice(1);
    const slash = path.indexOf('/');
    if (slash < 0) {
      handler(req, res);
      return;
    }
    const [bucket, key] = [path.slice(0, slash), path.slice(slash + 1)];
    const previous = queues.get(path) ?? Promise.resolve();
    const turn = previous.then(
      () =>
        new Promise<void>((release) => {
          void store
            .getMetadata(bucket, key)
            .then((m) => m.etag)
            .catch(() => undefined)
            .then((etag) => {
              const conditional = req.method === 'PUT';
              const failed =
                conditional &&
                ((ifNoneMatch === '*' && etag !== undefined) || (ifMatch !== undefined && ifMatch !== etag));
              if (failed) {
                refused++;
                req.resume();
                res.writeHead(412, { 'content-type': 'application/xml' });
                res.end(
                  '<?xml version="1.0" encoding="UTF-8"?><Error><Code>PreconditionFailed</Code><Message>At least one of the pre-conditions you specified did not hold</Message><Condition>If-Match</Condition></Error>',
                );
                release();
                return;
              }
              res.on('finish', () => release());
              res.on('close', () => release());
              handler(req, res);
            });
        }),
    );
    queues.set(path, turn);
  });
  await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(front.address() as AddressInfo).port}`;
  const client = new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  });
  return {
    client,
    endpoint,
    refused: () => refused,
    close: async () => {
      client.destroy();
      await new Promise<void>((resolve) => front.close(() => resolve()));
      await s3rver.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
