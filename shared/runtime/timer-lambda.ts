// AWS Lambda entry point of the timer (an EventBridge schedule invokes it): wiring only.
import { lambdaTimerHandler } from './lambda.ts';

export const handler = lambdaTimerHandler();
