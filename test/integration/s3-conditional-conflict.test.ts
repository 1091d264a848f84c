/**
 * S3's answers to conditional writes, at the SDK boundary: the real @aws-sdk/client-s3 against
 * a local HTTP server that stands in for S3 and answers PutObject as S3 documents it
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html): 409
 * ConditionalRequestConflict while another conditional write to the key is in flight (retry),
 * 412 PreconditionFailed once the condition does not hold (lost).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { S3Client } from '@aws-sdk/client-s3';
import { afterEach, describe, expect, it } from 'vitest';
import { S3ObjectStore } from '../../shared/storage/s3-object-store.ts';

const CONFLICT = `<?xml version="1.0" encoding="UTF-8"?>
<Error><Code>ConditionalRequestConflict</Code><Message>A conflicting operation occurred. If using PutObject you can retry the request. If using multipart upload you should initiate another CreateMultipartUpload request and re-upload each part.</Message><RequestId>656c76696e672d7265717565</RequestId><HostId>Uuag1LuByRx9e6j5Onimru9pO4ZVKnJ2Qz7/C1NPcfTWAtRPfTaOFg==</HostId></Error>`;
const PRECONDITION = `<?xml version="1.0" encoding="UTF-8"?>
<Error><Code>PreconditionFailed</Code><Message>At least one of the pre-conditions you specified did not hold</Message><Condition>If-None-Match</Condition><RequestId>656c76696e672d7265717566</RequestId><HostId>Uuag1LuByRx9e6j5Onimru9pO4ZVKnJ2Qz7/C1NPcfTWAtRPfTaOFh==</HostId></Error>`;

let server: Server | undefined;

/** An S3 stand-in answering each PutObject with the next of `answers` (then 200). */
async function s3Answering(answers: (409 | 412)[]): Promise<{ store: S3ObjectStore; puts: () => number }> {
  let puts = 0;
  server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      puts++;
      const answer = answers.shift();
      if (answer === undefined) {
        res.writeHead(200, { etag: '"0a1b2c"' }).end();
        return;
      }
      res.writeHead(answer, { 'content-type': 'application/xml' }).end(answer === 409 ? CONFLICT : PRECONDITION);
    });
  });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const client = new S3Client({
    endpoint: `http://127.0.0.1:${port}`,
    forcePathStyle: true,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  return { store: new S3ObjectStore(client, 'qpipe'), puts: () => puts };
}

afterEach(async () => {
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  server = undefined;
});

describe('a conditional write on S3 (real SDK, a local server answering as S3 documents)', () => {
  it('asks again after 409 ConditionalRequestConflict, and wins when the other write did not', async () => {
    const { store, puts } = await s3Answering([409, 409]);
    expect(await store.putIfAbsent('claims/execute/uid-1/0', '{}')).toBe(true);
    expect(puts()).toBe(3);
  });

  it('asks again after 409, and loses when the other write took the key (412)', async () => {
    const { store, puts } = await s3Answering([409, 412]);
    expect(await store.putIfAbsent('claims/execute/uid-1/0', '{}')).toBe(false);
    expect(puts()).toBe(2);
  });

  it('loses at once on 412, and gives up with a retryable error when 409 does not end', async () => {
    const lost = await s3Answering([412]);
    expect(await lost.store.putIfAbsent('claims/execute/uid-1/0', '{}')).toBe(false);
    expect(lost.puts()).toBe(1);
    await new Promise((resolve) => server?.close(resolve));
    const stuck = await s3Answering([409, 409, 409, 409, 409, 409]);
    await expect(stuck.store.putIfAbsent('claims/execute/uid-1/0', '{}')).rejects.toMatchObject({
      retryable: true,
      message: expect.stringMatching(/409 ConditionalRequestConflict/),
    });
    expect(stuck.puts()).toBe(5);
  });
});
