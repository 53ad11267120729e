/**
 * Forwards the service's events to one transport (a window, a WebSocket),
 * coalescing progress so that a receiver gets a few snapshots per second at
 * most, whatever the engine's rate.
 */
import type { EventMap, EventName } from '../../shared/contract.ts';
import type { ContractService } from './dispatcher.ts';

/** Sends one event to the receiver. */
export type EventSender = <E extends EventName>(
  event: E,
  payload: EventMap[E],
) => void;

/** Events whose latest payload replaces the earlier ones (snapshots). */
const COALESCED: ReadonlySet<EventName> = new Set(['transfers:didChange']);

/** Default minimum time between two coalesced events: 4 per second. */
export const DEFAULT_EVENT_INTERVAL_MS = 250;

/**
 * forwardEvents subscribes `send` to `service`'s events until the returned
 * function is called. `transfers:didChange` is throttled: the first one goes
 * out at once, later ones at most every `intervalMs`, always with the latest
 * payload. Every other event goes out at once, and a pending snapshot is
 * flushed before it so that the receiver sees events in order. After
 * disposal nothing more is sent (pending snapshots are dropped).
 */
export function forwardEvents(
  service: ContractService,
  send: EventSender,
  intervalMs: number = DEFAULT_EVENT_INTERVAL_MS,
): () => void {
  let pending: EventMap['transfers:didChange'] | null = null;
  let timer: NodeJS.Timeout | null = null;
  let lastSentAt = -Infinity;
  let isDisposed = false;

  const flush = () => {
    if (timer) clearTimeout(timer);
    timer = null;
    if (pending === null) return;
    const payload = pending;
    pending = null;
    lastSentAt = Date.now();
    send('transfers:didChange', payload);
  };

  const unsubscribe = service.onDidEmit((event, payload) => {
    if (isDisposed) return;
    if (!COALESCED.has(event)) {
      flush();
      send(event, payload);
      return;
    }

    pending = payload as EventMap['transfers:didChange'];
    const wait = lastSentAt + intervalMs - Date.now();
    if (wait <= 0) {
      flush();
    } else if (!timer) {
      timer = setTimeout(flush, wait);
    }
  });

  return () => {
    isDisposed = true;
    unsubscribe();
    if (timer) clearTimeout(timer);
    timer = null;
    pending = null;
  };
}
