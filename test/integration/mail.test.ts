/** Budget alerts through a real SMTP server, and through SES at the SDK boundary. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXAMPLE_EVENTS } from '../../events/examples.ts';
import { EventType } from '../../events/types.ts';
import { stage as notifyStage } from '../../functions/notify/handler.ts';
import { SesMailer } from '../../shared/mail/ses-mailer.ts';
import { SmtpMailer } from '../../shared/mail/smtp-mailer.ts';
import { runStage } from '../../shared/runtime/stage.ts';
import { memoryPorts } from '../support/memory-ports.ts';
import { type SmtpTestServer, startSmtpServer } from '../support/smtp-server.ts';

describe('notify over SMTP (real smtp-server on loopback)', () => {
  let smtp: SmtpTestServer;
  beforeAll(async () => {
    smtp = await startSmtpServer();
  });
  afterAll(async () => smtp.close());

  it('sends each threshold alert exactly once when the same events arrive three times', async () => {
    const mailer = new SmtpMailer(smtp.url, 'qpipe <qpipe@example.com>');
    const ports = memoryPorts({}, { mailer });
    const threshold = EXAMPLE_EVENTS[EventType.BudgetThreshold];
    const exceeded = EXAMPLE_EVENTS[EventType.BudgetExceeded];
    for (let i = 0; i < 3; i++) {
      await runStage(notifyStage, threshold, ports);
      await runStage(notifyStage, exceeded, ports);
    }
    mailer.close();
    expect(smtp.received).toHaveLength(2);
    const alert = smtp.received.find((m) => m.subject?.includes('at 75%'));
    expect(alert?.subject).toBe('Budget quantum-research/monthly at 75%: $7,512.40 of $10,000.00');
    expect(alert?.from?.value[0]).toMatchObject({ name: 'qpipe', address: 'qpipe@example.com' });
    expect(alert?.to && 'text' in alert.to ? alert.to.text : '').toBe('quantum-budget@example.com');
    expect(alert?.text).toContain('quantum-research/vqe-sweep');
    expect(alert?.html).toContain('<table>');
  });

  it('keeps the alert when the server is down, so a retry delivers it', async () => {
    const down = new SmtpMailer('smtp://127.0.0.1:1', 'qpipe@example.com');
    const ports = memoryPorts({}, { mailer: down });
    const event = EXAMPLE_EVENTS[EventType.BudgetThreshold];
    const failed = await runStage(notifyStage, event, ports);
    expect(failed.retry).toBeDefined();
    const up = new SmtpMailer(smtp.url, 'qpipe@example.com');
    const before = smtp.received.length;
    await runStage(notifyStage, event, { ...ports, mailer: up });
    up.close();
    expect(smtp.received.length).toBe(before + 1);
  });

  it('refuses an address that would inject headers', async () => {
    const mailer = new SmtpMailer(smtp.url, 'qpipe@example.com');
    await expect(
      mailer.send({ to: 'a@example.com\r\nBcc: b@evil.test', subject: 's', text: 't', html: 'h' }),
    ).rejects.toThrow(/not a single plain email address/);
    mailer.close();
  });
});

describe('notify over Amazon SES (SDK boundary: no SES can run here; a local endpoint answers as the SESv2 API reference documents)', () => {
  /** An HTTP server standing in for the SESv2 endpoint, answering as the API reference documents. */
  async function sesClient(respond: (body: unknown) => { status: number; body: unknown; type?: string }) {
    const requests: { path: string; body: unknown }[] = [];
    const server = createServer((req, res) => {
      let text = '';
      req.on('data', (chunk: Buffer) => (text += chunk.toString()));
      req.on('end', () => {
        const body = JSON.parse(text || '{}');
        requests.push({ path: req.url ?? '', body });
        const reply = respond(body);
        res.writeHead(reply.status, {
          'content-type': 'application/json',
          ...(reply.type ? { 'x-amzn-errortype': reply.type } : {}),
        });
        res.end(JSON.stringify(reply.body));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const client = new SESv2Client({
      region: 'eu-west-1',
      endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      maxAttempts: 1,
    });
    servers.push(server);
    return { client, requests };
  }
  const servers: Server[] = [];
  afterAll(() => servers.forEach((s) => s.close()));

  it('sends with SendEmail: simple content, text and HTML bodies', async () => {
    const { client, requests } = await sesClient(() => ({
      status: 200,
      body: { MessageId: '0102018f-example-000000' },
    }));
    await new SesMailer(client, 'qpipe@example.com').send({
      to: 'owner@example.com',
      subject: 'Budget x at 50%',
      text: 'text',
      html: '<p>html</p>',
    });
    expect(requests.map((r) => r.path)).toEqual(['/v2/email/outbound-emails']);
    expect(requests.map((r) => r.body)).toEqual([
      {
        FromEmailAddress: 'qpipe@example.com',
        Destination: { ToAddresses: ['owner@example.com'] },
        Content: {
          Simple: {
            Subject: { Data: 'Budget x at 50%', Charset: 'UTF-8' },
            Body: { Text: { Data: 'text', Charset: 'UTF-8' }, Html: { Data: '<p>html</p>', Charset: 'UTF-8' } },
          },
        },
      },
    ]);
  });

  it('treats throttling as retryable and a rejected message as final', async () => {
    const throttled = await sesClient(() => ({
      status: 429,
      type: 'TooManyRequestsException',
      body: { message: 'Too many requests' },
    }));
    await expect(
      new SesMailer(throttled.client, 'q@example.com').send({
        to: 'o@example.com',
        subject: 's',
        text: 't',
        html: 'h',
      }),
    ).rejects.toMatchObject({
      retryable: true,
    });
    const rejected = await sesClient(() => ({
      status: 400,
      type: 'MessageRejected',
      body: { message: 'Email address is not verified.' },
    }));
    await expect(
      new SesMailer(rejected.client, 'q@example.com').send({ to: 'o@example.com', subject: 's', text: 't', html: 'h' }),
    ).rejects.toMatchObject({
      retryable: false,
    });
  });
});
