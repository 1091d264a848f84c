/** What dead-letter replay puts back: catalog types, from their own sources, within the size a bus takes. */
import { describe, expect, it } from 'vitest';
import { EXAMPLE_EVENTS } from '../../events/examples.ts';
import { EventType } from '../../events/types.ts';
import { MAX_REPLAY_BYTES, whyNotReplayable } from '../../shared/cli/replay-check.ts';

describe('replay checks', () => {
  it("lets every example event of the catalog through from its own source, but Braket's", () => {
    for (const [type, event] of Object.entries(EXAMPLE_EVENTS)) {
      expect(whyNotReplayable(event), type).toEqual(
        type === EventType.BraketTaskStateChange ? expect.stringMatching(/only Amazon Braket/) : undefined,
      );
    }
  });

  it('keeps an internal event from a stage that does not emit it, and anything too large', () => {
    const executed = EXAMPLE_EVENTS[EventType.JobExecuted];
    expect(whyNotReplayable(executed.cloneWith({ source: '/qpipe/validate' }))).toMatch(
      /may come only from \/qpipe\/execute, \/qpipe\/collect-results, not "\/qpipe\/validate"/,
    );
    const requested = EXAMPLE_EVENTS[EventType.JobRequested];
    const huge = requested.cloneWith({ data: { padding: 'x'.repeat(MAX_REPLAY_BYTES) } }, true);
    expect(whyNotReplayable(huge)).toMatch(/bytes is over the 1048576 a replay may carry/);
  });
});
