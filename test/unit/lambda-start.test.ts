import type { Context } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { EXAMPLE_EVENTS } from '../../events/examples.ts';
import { EventType } from '../../events/types.ts';
import { stage } from '../../functions/select-backend/handler.ts';
import { lambdaHandler, type LambdaDependencies } from '../../shared/runtime/lambda.ts';
import { envelope } from '../support/eventbridge-envelope.ts';
import { memoryPorts } from '../support/memory-ports.ts';

describe('a Lambda container whose start failed', () => {
  it('tries again at the next invocation instead of failing every one until it is recycled', async () => {
    let starts = 0;
    const dependencies = async (): Promise<LambdaDependencies> => {
      starts++;
      if (starts === 1) throw new Error('ThrottlingException: Rate exceeded (SSM GetParameter)');
      return { ports: memoryPorts(), publish: async () => undefined };
    };
    const invoke = lambdaHandler(stage, dependencies);
    const event = envelope(EXAMPLE_EVENTS[EventType.JobValidated]);
    await expect(invoke(event, {} as Context)).rejects.toThrow(/ThrottlingException/);
    await expect(invoke(event, {} as Context)).resolves.toBeDefined();
    await invoke(event, {} as Context);
    expect(starts).toBe(2);
  });
});
