/**
 * The one dispatcher behind both transports (Electron IPC and serve mode's
 * WebSocket): it refuses unknown channels, validates the payload with the
 * channel's schema, calls the service and wraps the outcome in a Result
 * envelope. Handlers never throw across the boundary.
 */
import { z } from 'zod';

import { channels, isChannel } from '../../shared/contract.ts';
import type {
  Channel,
  EventMap,
  EventName,
  Result,
  ResponseOf,
} from '../../shared/contract.ts';
import { toLogString } from '../engine/errors.ts';
import { toContractError } from './serviceError.ts';

/** The request of a channel after validation (defaults applied). */
export type ParsedRequestOf<C extends Channel> = z.output<
  (typeof channels)[C]['request']
>;

/** Listener of every event the service emits. */
export type ServiceEventListener = <E extends EventName>(
  event: E,
  payload: EventMap[E],
) => void;

/**
 * ContractService is what a transport needs from the app service: one
 * handler for every channel (given a request that already passed the
 * channel's schema) and a subscription to its events.
 */
export interface ContractService {
  handle<C extends Channel>(
    channel: C,
    request: ParsedRequestOf<C>,
  ): Promise<ResponseOf<C>>;
  /** Calls `listener` for every event; returns the unsubscribe function. */
  onDidEmit(listener: ServiceEventListener): () => void;
}

/** Receives the detail of failures, for the log (never shown to users). */
export type DispatchLogger = (line: string) => void;

/**
 * Dispatch validates and runs one call. It resolves to a Result for every
 * input, whatever the channel name or payload: 'unknown-channel' for a name
 * outside the contract, 'invalid-request' (with the schema's message) for a
 * payload the schema refuses, the service's error otherwise.
 */
export type Dispatch = (
  channel: unknown,
  payload: unknown,
) => Promise<Result<unknown>>;

/** createDispatcher binds a Dispatch to `service`. */
export function createDispatcher(
  service: ContractService,
  log: DispatchLogger = () => {},
): Dispatch {
  return async (channel, payload) => {
    if (!isChannel(channel)) {
      return failure(
        'unknown-channel',
        `Unknown channel ${describeName(channel)}.`,
      );
    }

    const parsed = channels[channel].request.safeParse(payload);
    if (!parsed.success) {
      return failure(
        'invalid-request',
        `Invalid request for ${channel}: ${z.prettifyError(parsed.error)}`,
      );
    }

    try {
      const value = await service.handle(channel, parsed.data as never);
      return { ok: true, value };
    } catch (err) {
      const error = toContractError(err);
      if (error.code === 'internal') {
        log(`Dispatcher/${channel}: ${toLogString(err)}`);
      }
      return { ok: false, error };
    }
  };
}

function failure(
  code: 'unknown-channel' | 'invalid-request',
  message: string,
): Result<never> {
  return { ok: false, error: { code, message } };
}

/** A short, printable rendering of an untrusted channel name. */
function describeName(name: unknown): string {
  if (typeof name !== 'string') return `of type ${typeof name}`;
  const printable = name.replace(/[^\x20-\x7e]/g, '?');
  return JSON.stringify(
    printable.length > 64 ? `${printable.slice(0, 64)}…` : printable,
  );
}
