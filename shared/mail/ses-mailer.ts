/** Sends mail with Amazon SES (API v2), for Lambda deployments. */
import { SendEmailCommand, type SESv2Client } from '@aws-sdk/client-sesv2';
import { QpipeError } from '../errors.ts';
import { assertPlainAddress, type Mailer, type MailMessage, safeSubject } from './mailer.ts';

/** SES transport; throttling and server errors are retryable, rejected messages are not. */
export class SesMailer implements Mailer {
  constructor(
    private readonly client: SESv2Client,
    private readonly from: string,
  ) {}

  async send(message: MailMessage): Promise<void> {
    assertPlainAddress(message.to, 'notificationEmail');
    try {
      await this.client.send(
        new SendEmailCommand({
          FromEmailAddress: this.from,
          Destination: { ToAddresses: [message.to] },
          Content: {
            Simple: {
              Subject: { Data: safeSubject(message.subject), Charset: 'UTF-8' },
              Body: { Text: { Data: message.text, Charset: 'UTF-8' }, Html: { Data: message.html, Charset: 'UTF-8' } },
            },
          },
        }),
      );
    } catch (cause) {
      const name = (cause as { name?: string }).name ?? '';
      // https://docs.aws.amazon.com/ses/latest/APIReference-V2/API_SendEmail.html#API_SendEmail_Errors
      const permanent = [
        'MessageRejected',
        'MailFromDomainNotVerifiedException',
        'AccountSuspendedException',
        'BadRequestException',
      ];
      throw new QpipeError(`SES refused mail to ${message.to}: ${(cause as Error).message}`, {
        retryable: !permanent.includes(name),
        cause,
      });
    }
  }
}
