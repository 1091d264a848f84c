/**
 * The embedded default's mailer: each message is written as an RFC 5322 `.eml` file to an
 * outbox folder, built by nodemailer exactly as it would be sent over SMTP.
 */
import nodemailer from 'nodemailer';
import type { ObjectStore } from '../storage/object-store.ts';
import { assertPlainAddress, type Mailer, type MailMessage, safeSubject } from './mailer.ts';

/** Writes messages to `outbox/` in the object store. */
export class OutboxMailer implements Mailer {
  private readonly transport = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' });

  constructor(
    private readonly store: ObjectStore,
    private readonly from: string,
  ) {}

  async send(message: MailMessage): Promise<void> {
    assertPlainAddress(message.to, 'notificationEmail');
    const info = await this.transport.sendMail({
      from: this.from,
      to: message.to,
      subject: safeSubject(message.subject),
      text: message.text,
      html: message.html,
    });
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    await this.store.put(
      `outbox/${stamp}-${crypto.randomUUID().slice(0, 8)}.eml`,
      info.message as Buffer,
      'message/rfc822',
    );
  }
}
