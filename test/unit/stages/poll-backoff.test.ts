/** collect-results' re-checks of provider tasks back off from the first delay to the cap. */
import { describe, expect, it } from 'vitest';
import { pollDelaySeconds } from '../../../functions/collect-results/provider-tasks.ts';

describe('provider task re-checks', () => {
  it('double from the first delay and stop at the cap', () => {
    const poll = { firstSeconds: 5, maxSeconds: 300, deadlineSeconds: 604_800 };
    expect([1, 2, 3, 4, 5, 6, 7, 8, 50].map((attempt) => pollDelaySeconds(attempt, poll))).toEqual([
      5, 10, 20, 40, 80, 160, 300, 300, 300,
    ]);
  });
});
