/** Sends mail over SMTP with nodemailer, configured by a URL such as `smtp://user:pass@host:587`. */
import nodemailer, { type Transporter } from 'nodemailer';
import { TransientError } from '../errors.ts';
import { assertPlainAddress, type Mailer, type MailMessage, safeSubject } from './mailer.ts';

/** SMTP transport; a failed send is a retryable error, so the bus tries again. */
export class SmtpMailer implements Mailer {
  private readonly transport: Transporter;

  constructor(
    url: string,
    private readonly from: string,
  ) {
    this.transport = nodemailer.createTransport(url);
  }

  async send(message: MailMessage): Promise<void> {
    assertPlainAddress(message.to, 'notificationEmail');
    try {
      await this.transport.sendMail({
        from: this.from,
        to: message.to,
        subject: safeSubject(message.subject),
        text: message.text,
        html: message.html,
      });
    } catch (cause) {
      throw new TransientError(`sending mail to ${message.to} failed: ${(cause as Error).message}`, { cause });
    }
  }

  close(): void {
    this.transport.close();
  }
}
