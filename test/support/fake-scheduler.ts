/**
 * A loopback stand-in for Amazon EventBridge Scheduler's REST API, in the shapes its API
 * reference documents: CreateSchedule is `POST /schedules/{Name}` with the schedule as
 * JSON, answered `{ "ScheduleArn": … }`; a name that exists is 409 with
 * `x-amzn-errortype: ConflictException`. There is no local Scheduler server to run; this
 * models what bites: duplicate names, and that nothing fires until the test fires it.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SchedulerClient } from '@aws-sdk/client-scheduler';

/** A schedule as the stand-in received it. */
export interface StoredSchedule {
  readonly name: string;
  readonly body: {
    ScheduleExpression: string;
    ScheduleExpressionTimezone?: string;
    ActionAfterCompletion?: string;
    FlexibleTimeWindow: { Mode: string };
    Target: {
      Arn: string;
      RoleArn: string;
      Input?: string;
      EventBridgeParameters?: { DetailType: string; Source: string };
    };
  };
}

/** A running stand-in. */
export interface FakeScheduler {
  readonly client: SchedulerClient;
  /** Where it listens (AWS_ENDPOINT_URL_SCHEDULER for a process). */
  readonly endpoint: string;
  readonly schedules: Map<string, StoredSchedule>;
  /** CreateSchedule calls, duplicates included. */
  readonly calls: string[];
  close(): Promise<void>;
}

/** Starts the stand-in on a free loopback port. */
export async function startFakeScheduler(): Promise<FakeScheduler> {
  const schedules = new Map<string, StoredSchedule>();
  const calls: string[] = [];
  const server: Server = createServer((request, response) => {
    let text = '';
    request.on('data', (c: Buffer) => (text += c.toString()));
    request.on('end', () => {
      const match = /^\/schedules\/([^/?]+)/.exec(request.url ?? '');
      if (request.method !== 'POST' || !match) {
        response.writeHead(404, { 'x-amzn-errortype': 'ResourceNotFoundException' }).end('{}');
        return;
      }
      const name = decodeURIComponent(match[1] as string);
      calls.push(name);
      if (schedules.has(name)) {
        response
          .writeHead(409, { 'content-type': 'application/json', 'x-amzn-errortype': 'ConflictException' })
          .end(JSON.stringify({ Message: `Schedule ${name} already exists.` }));
        return;
      }
      schedules.set(name, { name, body: JSON.parse(text) as StoredSchedule['body'] });
      response
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ ScheduleArn: `arn:aws:scheduler:eu-west-1:111122223333:schedule/default/${name}` }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const client = new SchedulerClient({
    region: 'eu-west-1',
    endpoint,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  return { client, endpoint, schedules, calls, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
