/**
 * One segment of an object key made from a value a user chose (a name, namespace, uid or event
 * id): the value itself when it is plainly safe, else a hash of it. So any Kubernetes-legal
 * name works (253 characters outgrow a file name), and no value can climb out of its folder.
 */
import { createHash } from 'node:crypto';

const PLAIN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/;

/** The segment for `value`; a hashed one starts with `~`, which no plain one does. */
export function keySegment(value: string): string {
  if (PLAIN.test(value) && !value.includes('..')) return value;
  return `~${createHash('sha256').update(value).digest('hex').slice(0, 32)}`;
}
