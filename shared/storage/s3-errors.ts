/** How S3 reports the conditions qpipe relies on. */

function statusOf(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
}

/** The object does not exist (GetObject on a missing key). */
export function isNotFound(error: unknown): boolean {
  const name = (error as { name?: string } | undefined)?.name;
  return name === 'NoSuchKey' || name === 'NotFound' || statusOf(error) === 404;
}

/**
 * A conditional write lost: `If-Match` / `If-None-Match` failed (412 PreconditionFailed), or
 * another conditional write to the key was in flight (409 ConditionalRequestConflict).
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html
 */
export function isConditionFailed(error: unknown): boolean {
  const name = (error as { name?: string } | undefined)?.name;
  return (
    name === 'PreconditionFailed' ||
    name === 'ConditionalRequestConflict' ||
    statusOf(error) === 412 ||
    statusOf(error) === 409
  );
}
