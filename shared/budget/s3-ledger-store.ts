/**
 * Ledgers on S3 with conditional writes: the ETag is the version, a swap is a PutObject
 * with `If-Match: <etag>` (or `If-None-Match: *` to create), and a lost condition is a
 * failed swap that updateLedger retries.
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html
 */
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { assertSafeKey } from '../storage/object-store.ts';
import { isConditionFailed, isNotFound, readFailure } from '../storage/s3-errors.ts';
import { parseDocument } from '../storage/documents.ts';
import { EMPTY_LEDGER, LedgerState } from './ledger.ts';
import type { LedgerStore, VersionedLedger } from './ledger-store.ts';

/** S3 ledger store: one JSON object per budget period under `prefix`. */
export class S3LedgerStore implements LedgerStore {
  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
    private readonly prefix = 'ledgers',
  ) {}

  private key(key: string): string {
    assertSafeKey(key);
    return `${this.prefix}/${key}.json`;
  }

  async read(key: string): Promise<VersionedLedger> {
    try {
      const response = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.key(key) }));
      const text = (await response.Body?.transformToString()) ?? '';
      return {
        state: parseDocument(LedgerState, text, `s3://${this.bucket}/${this.key(key)}`),
        version: response.ETag,
      };
    } catch (error) {
      if (isNotFound(error)) return { state: EMPTY_LEDGER, version: undefined };
      throw readFailure(error, `s3://${this.bucket}/${this.key(key)}`);
    }
  }

  async compareAndSwap(key: string, expected: string | undefined, state: LedgerState): Promise<boolean> {
    try {
      await this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: this.key(key),
          Body: JSON.stringify(state),
          ContentType: 'application/json',
          ...(expected === undefined ? { IfNoneMatch: '*' } : { IfMatch: expected }),
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailed(error)) return false;
      throw error;
    }
  }

  async list(): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: `${this.prefix}/`, ContinuationToken: token }),
      );
      for (const object of page.Contents ?? []) {
        if (object.Key?.endsWith('.json')) keys.push(object.Key.slice(this.prefix.length + 1, -'.json'.length));
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return keys.sort();
  }
}
