/** How S3 reports the conditions qpipe relies on. */
import { QpipeError } from '../errors.ts';

function statusOf(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
}

/** The object does not exist (GetObject on a missing key). */
export function isNotFound(error: unknown): boolean {
  const name = (error as { name?: string } | undefined)?.name;
  return name === 'NoSuchKey' || name === 'NotFound' || statusOf(error) === 404;
}

/**
 * A conditional write lost: `If-Match` / `If-None-Match` failed (412 PreconditionFailed).
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html
 */
export function isConditionFailed(error: unknown): boolean {
  const name = (error as { name?: string } | undefined)?.name;
  return name === 'PreconditionFailed' || statusOf(error) === 412;
}

/**
 * Another conditional write to the key was in flight (409 ConditionalRequestConflict): the
 * outcome is not known yet, and AWS says to retry the request, which then wins or meets 412.
 */
export function isConditionalConflict(error: unknown): boolean {
  const name = (error as { name?: string } | undefined)?.name;
  return name === 'ConditionalRequestConflict' || statusOf(error) === 409;
}

/** S3 refused the request (403 AccessDenied): a missing permission, which no retry cures. */
export function isAccessDenied(error: unknown): boolean {
  const name = (error as { name?: string } | undefined)?.name;
  return name === 'AccessDenied' || statusOf(error) === 403;
}

/** The role is missing a permission: a configuration error, reported once and not retried. */
export class StorageAccessError extends QpipeError {
  constructor(message: string, cause: unknown) {
    super(message, { retryable: false, cause });
  }
}

/**
 * What a failed read means. S3 answers a read of a missing key with 403, not 404, when the
 * caller may not list the bucket (GetObject documentation, "Permissions"); qpipe reads keys
 * that may be missing on purpose, so the message names both permissions.
 */
export function readFailure(error: unknown, location: string): unknown {
  if (!isAccessDenied(error)) return error;
  return new StorageAccessError(
    `S3 denied reading ${location} (403): the role needs s3:GetObject on the key and s3:ListBucket on the ` +
      'bucket (without ListBucket, S3 reports a missing key as 403 instead of 404)',
    error,
  );
}
