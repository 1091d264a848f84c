/**
 * A real S3 server for tests: MinIO, built from the Go module proxy by
 * test/tools/build-servers.sh into a cache outside the repository. Unlike s3rver it
 * honours conditional writes (If-Match, If-None-Match) and IAM-style policies itself.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { freePort, toolsCache, unavailableUnlessCi } from './kube-apiserver.ts';

/** The MinIO binary in the tools cache, if built. */
function minioBinary(): string | undefined {
  if (!existsSync(toolsCache())) return undefined;
  const name = readdirSync(toolsCache()).find((f) => f.startsWith('minio-'));
  return name === undefined ? undefined : join(toolsCache(), name);
}

/** Why MinIO cannot run here, or undefined when it can. */
export function minioMissing(): string | undefined {
  return unavailableUnlessCi(
    minioBinary() ? undefined : `MinIO not built in ${toolsCache()} (run test/tools/build-servers.sh; .ci/run does)`,
  );
}

/** A running MinIO with its root credentials. */
export interface MinioServer {
  readonly endpoint: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** A path-style client with the root credentials. */
  readonly client: S3Client;
  /** The environment a qpipe process needs to use this server (bucket included). */
  env(bucket: string): Record<string, string>;
  close(): Promise<void>;
}

/** Starts MinIO on a free loopback port in a fresh folder and creates the buckets. */
export async function startMinio(buckets: readonly string[]): Promise<MinioServer> {
  const binary = minioBinary();
  if (!binary) throw new Error(minioMissing());
  const dir = await mkdtemp(join(tmpdir(), 'qpipe-minio-'));
  const [port, consolePort] = [await freePort(), await freePort()];
  const accessKeyId = 'qpipe-test';
  const secretAccessKey = 'qpipe-test-secret';
  const child: ChildProcess = spawn(
    binary,
    ['server', dir, '--address', `127.0.0.1:${port}`, '--console-address', `127.0.0.1:${consolePort}`, '--quiet'],
    {
      env: { ...process.env, MINIO_ROOT_USER: accessKeyId, MINIO_ROOT_PASSWORD: secretAccessKey },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout?.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
  const endpoint = `http://127.0.0.1:${port}`;
  const close = async () => {
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
    await rm(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`minio exited with ${child.exitCode}: ${output}`);
    if (
      await fetch(`${endpoint}/minio/health/ready`).then(
        (r) => r.ok,
        () => false,
      )
    )
      break;
    if (Date.now() > deadline) {
      await close();
      throw new Error(`minio not ready in 30 s: ${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const client = new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId, secretAccessKey },
  });
  for (const bucket of buckets) await client.send(new CreateBucketCommand({ Bucket: bucket }));
  return {
    endpoint,
    accessKeyId,
    secretAccessKey,
    client,
    env: (bucket) => ({
      QPIPE_S3_BUCKET: bucket,
      QPIPE_S3_FORCE_PATH_STYLE: 'true',
      AWS_ENDPOINT_URL_S3: endpoint,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: accessKeyId,
      AWS_SECRET_ACCESS_KEY: secretAccessKey,
    }),
    close,
  };
}
