/**
 * A fake Bridge for component tests: the boundary between the renderer and
 * the engine, with per-channel handlers, a call log and event emission.
 * Test-only.
 */
import type {
  Bridge,
  Channel,
  ContractError,
  EventMap,
  EventName,
  RequestOf,
  ResponseOf,
  Result,
} from '../../../shared/contract.ts';

/** Throw from a handler to answer `{ok: false, error}`. */
export class ContractFailure extends Error {
  readonly code: ContractError['code'];

  constructor(code: ContractError['code'], message: string) {
    super(message);
    this.code = code;
  }
}

export type Handler<C extends Channel> = (
  request: RequestOf<C>,
) => ResponseOf<C> | Promise<ResponseOf<C>>;

export interface FakeBridge extends Bridge {
  /** Every invoke, in order. */
  readonly calls: { channel: Channel; request: unknown }[];
  handle<C extends Channel>(channel: C, handler: Handler<C>): void;
  /** Requests made on one channel, in order. */
  callsOf<C extends Channel>(channel: C): RequestOf<C>[];
  emit<E extends EventName>(event: E, payload: EventMap[E]): void;
  listenerCount(event: EventName): number;
  /** Paths asked for through pathForFile, by file name. */
  readonly pathRequests: string[];
}

export interface FakeBridgeOptions {
  mode?: 'desktop' | 'serve';
  /** Desktop: the path of a dropped File; default `/drop/<name>`. */
  pathForFile?: (file: File) => string | null;
}

export function createFakeBridge(options: FakeBridgeOptions = {}): FakeBridge {
  const mode = options.mode ?? 'desktop';
  const handlers = new Map<Channel, (request: unknown) => unknown>();
  const listeners = new Map<EventName, Set<(payload: unknown) => void>>();
  const calls: { channel: Channel; request: unknown }[] = [];
  const pathRequests: string[] = [];

  return {
    mode,
    calls,
    pathRequests,
    async invoke<C extends Channel>(
      channel: C,
      request: RequestOf<C>,
    ): Promise<Result<ResponseOf<C>>> {
      calls.push({ channel, request });
      const handler = handlers.get(channel);
      if (!handler) {
        return {
          ok: false,
          error: {
            code: 'unknown-channel',
            message: `no fake handler for ${channel}`,
          },
        };
      }
      try {
        const value = (await handler(request)) as ResponseOf<C>;
        return { ok: true, value };
      } catch (err) {
        if (err instanceof ContractFailure) {
          return { ok: false, error: { code: err.code, message: err.message } };
        }
        throw err;
      }
    },
    on<E extends EventName>(
      event: E,
      listener: (payload: EventMap[E]) => void,
    ) {
      let set = listeners.get(event);
      if (!set) {
        set = new Set();
        listeners.set(event, set);
      }
      const l = listener as (payload: unknown) => void;
      set.add(l);
      return () => {
        set.delete(l);
      };
    },
    pathForFile(file: File) {
      pathRequests.push(file.name);
      if (mode === 'serve') {
        return null;
      }
      return options.pathForFile
        ? options.pathForFile(file)
        : `/drop/${file.name}`;
    },
    handle(channel, handler) {
      handlers.set(channel, handler as (request: unknown) => unknown);
    },
    callsOf<C extends Channel>(channel: C) {
      return calls
        .filter((c) => c.channel === channel)
        .map((c) => c.request as RequestOf<C>);
    },
    emit(event, payload) {
      for (const l of [...(listeners.get(event) ?? [])]) {
        l(payload);
      }
    },
    listenerCount(event) {
      return listeners.get(event)?.size ?? 0;
    },
  };
}
