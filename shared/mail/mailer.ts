/** The mail port: budget alerts as email. */
import { InvalidInputError } from '../errors.ts';

/** One email. */
export interface MailMessage {
  readonly to: string;
  readonly subject: string;
  readonly text: string;
  readonly html: string;
}

/** Sends email; implementations: outbox folder (embedded), SMTP, SES. */
export interface Mailer {
  send(message: MailMessage): Promise<void>;
}

const ADDRESS = /^[^\s@<>,;:"\\]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$/;

/**
 * Checks an address taken from a manifest: one plain address, no display name, no line
 * breaks, so nothing can be injected into the message headers.
 */
export function assertPlainAddress(address: string, where: string): void {
  if (!ADDRESS.test(address) || address.length > 254) {
    throw new InvalidInputError(where, `"${address}" is not a single plain email address`);
  }
}

/** Subjects never carry line breaks (header injection). */
export function safeSubject(subject: string): string {
  return subject.replace(/[\r\n]+/g, ' ').slice(0, 200);
}
