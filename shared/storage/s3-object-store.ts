/** The object store on S3 (or any S3 API): Knative and Lambda deployments. */
import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { assertSafeKey, type ObjectStore } from './object-store.ts';
import { QpipeError } from '../errors.ts';
import { isConditionalConflict, isConditionFailed, isNotFound, readFailure } from './s3-errors.ts';

/** Attempts of a conditional write that meets 409 ConditionalRequestConflict (about 1 s in all). */
const CONFLICT_ATTEMPTS = 5;

/** Objects under `prefix` in one bucket. */
export class S3ObjectStore implements ObjectStore {
  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
    private readonly prefix = '',
  ) {}

  private key(key: string): string {
    assertSafeKey(key);
    return this.prefix ? `${this.prefix.replace(/\/+$/, '')}/${key}` : key;
  }

  async put(key: string, body: string | Uint8Array, contentType = 'application/octet-stream'): Promise<void> {
    await this.client.send(
      new PutObjectCommand({ Bucket: this.bucket, Key: this.key(key), Body: body, ContentType: contentType }),
    );
  }

  async putIfAbsent(
    key: string,
    body: string | Uint8Array,
    contentType = 'application/octet-stream',
  ): Promise<boolean> {
    return this.putIfVersion(key, body, undefined, contentType);
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    try {
      const response = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.key(key) }));
      return response.Body ? await response.Body.transformToByteArray() : new Uint8Array();
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw readFailure(error, this.locate(key));
    }
  }

  async getVersioned(key: string): Promise<{ body: Uint8Array; version: string } | undefined> {
    try {
      const response = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.key(key) }));
      const body = response.Body ? await response.Body.transformToByteArray() : new Uint8Array();
      return { body, version: response.ETag ?? '' };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw readFailure(error, this.locate(key));
    }
  }

  async putIfVersion(
    key: string,
    body: string | Uint8Array,
    version: string | undefined,
    contentType = 'application/json',
  ): Promise<boolean> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.client.send(
          new PutObjectCommand({
            Bucket: this.bucket,
            Key: this.key(key),
            Body: body,
            ContentType: contentType,
            ...(version === undefined ? { IfNoneMatch: '*' } : { IfMatch: version }),
          }),
        );
        return true;
      } catch (error) {
        // If-Match on a key that is gone answers 404 NoSuchKey: the version read is not there either.
        if (isConditionFailed(error) || (version !== undefined && isNotFound(error))) return false;
        // A write in flight on the key: ask again shortly; it decides whether this one won.
        if (!isConditionalConflict(error)) throw error;
        if (attempt >= CONFLICT_ATTEMPTS) {
          throw new QpipeError(`S3 kept answering 409 ConditionalRequestConflict for ${this.locate(key)}`, {
            retryable: true,
            cause: error,
          });
        }
        await new Promise((resolve) => setTimeout(resolve, 20 * 2 ** attempt * (0.5 + Math.random())));
      }
    }
  }

  async list(prefix: string, limit = Number.POSITIVE_INFINITY): Promise<string[]> {
    // S3 lists keys in ascending UTF-8 order, page by page.
    const base = this.prefix ? `${this.prefix.replace(/\/+$/, '')}/` : '';
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({
          Bucket: this.bucket,
          Prefix: `${base}${prefix}`,
          ContinuationToken: token,
          MaxKeys: Math.min(1000, limit - keys.length),
        }),
      );
      for (const object of page.Contents ?? []) if (object.Key) keys.push(object.Key.slice(base.length));
      token = page.IsTruncated && keys.length < limit ? page.NextContinuationToken : undefined;
    } while (token);
    return keys;
  }

  async delete(key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.key(key) }));
  }

  locate(key: string): string {
    return `s3://${this.bucket}/${this.key(key)}`;
  }
}
