/**
 * notify: turns budget alerts into email to the budget's notificationEmail. Each alert is
 * sent at most once: a marker is claimed before sending and given back if sending fails, so
 * a retry sends it and a duplicate does not. A threshold's marker is its event; an exceeded
 * alert's is its budget and period, so a burst of blocked jobs sends one email listing the
 * jobs waiting for the budget, not one per job.
 */
import type { CloudEvent } from 'cloudevents';
import { EventType, Stage } from '../../events/types.ts';
import { ledgerKey } from '../../shared/budget/ledger-store.ts';
import type { Ports } from '../../shared/runtime/ports.ts';
import { defineStage, type StageInput } from '../../shared/runtime/stage.ts';
import { composeAlert } from './compose.ts';
import { keySegment } from '../../shared/storage/key-segment.ts';

type Deps = Pick<Ports, 'store' | 'mailer' | 'ledger'>;
type Input = StageInput<typeof Stage.Notify>;

/** Sends one alert email, once. */
export async function notify(event: Input, deps: Deps): Promise<CloudEvent<unknown>[]> {
  const to = event.data.notificationEmail;
  if (!to) return [];
  const marker =
    event.type === EventType.BudgetExceeded
      ? `notifications/exceeded/${ledgerKey(event.data.budget)}`
      : `notifications/${keySegment(event.id)}`;
  if (!(await deps.store.putIfAbsent(marker, JSON.stringify({ type: event.type, to }), 'application/json'))) return [];
  try {
    const waiting =
      event.type === EventType.BudgetExceeded
        ? Object.values((await deps.ledger.read(ledgerKey(event.data.budget))).state.waiting ?? {}).map((w) => w.job)
        : [];
    await deps.mailer.send({ to, ...composeAlert(event, waiting) });
  } catch (error) {
    await deps.store.delete(marker);
    throw error;
  }
  return [];
}

/** The notify stage, for any runtime to deploy. */
export const stage = defineStage(Stage.Notify, notify);
