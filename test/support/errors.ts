import { expect } from 'vitest';
import { QpipeError } from '../../shared/errors.ts';

/** Whether qpipe classified an error as retryable; fails the test when nobody classified it. */
export function retryableOf(error: unknown): boolean {
  expect(error).toBeInstanceOf(QpipeError);
  return (error as QpipeError).retryable;
}
