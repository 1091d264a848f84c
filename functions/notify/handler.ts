/**
 * notify: turns budget alerts into email to the budget's notificationEmail. Each alert is
 * sent at most once: a marker keyed by the event id is claimed before sending and given
 * back if sending fails, so a retry sends it and a duplicate does not.
 */
import type { CloudEvent } from 'cloudevents';
import type { TypedEvent } from '../../events/envelope.ts';
import type { EventType } from '../../events/types.ts';
import { Stage } from '../../events/types.ts';
import type { Ports } from '../../shared/runtime/ports.ts';
import { defineStage } from '../../shared/runtime/stage.ts';
import { composeAlert } from './compose.ts';

type Deps = Pick<Ports, 'store' | 'mailer'>;
type Input = TypedEvent<typeof EventType.BudgetThreshold | typeof EventType.BudgetExceeded>;

/** Sends one alert email, once. */
export async function notify(event: Input, deps: Deps): Promise<CloudEvent<unknown>[]> {
  const to = event.data.notificationEmail;
  if (!to) return [];
  const marker = `notifications/${event.id}`;
  if (!(await deps.store.putIfAbsent(marker, JSON.stringify({ type: event.type, to }), 'application/json'))) return [];
  try {
    await deps.mailer.send({ to, ...composeAlert(event) });
  } catch (error) {
    await deps.store.delete(marker);
    throw error;
  }
  return [];
}

/** The notify stage, for any runtime to deploy. */
export const stage = defineStage(Stage.Notify, notify);
