// AWS Lambda entry point: wiring only (middy chain, EventBridge in and out, ports from the environment).
import { lambdaHandler } from '../../shared/runtime/lambda.ts';
import { stage } from './handler.ts';

export const handler = lambdaHandler(stage);
