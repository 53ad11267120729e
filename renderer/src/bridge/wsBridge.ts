/**
 * The serve-mode Bridge: the contract over one WebSocket to the page's own
 * server (`ws(s)://<host>/ws?token=<token>`), with request ids, reconnection
 * with backoff and a clear failure for requests cut off by a disconnect.
 */
import type {
  Bridge,
  Channel,
  ClientFrame,
  ContractError,
  EventMap,
  EventName,
  RequestOf,
  ResponseOf,
  Result,
} from '../../../shared/contract.ts';

/** sessionStorage key under which the serve token is kept for this tab. */
export const TOKEN_STORAGE_KEY = 'gencove-desktop.serve-token';

/**
 * Reconnect delays, by attempt; the last one repeats. Each is jittered by
 * ±20 %, so the schedule after a drop is about
 * 0.25 s, 0.5 s, 1 s, 2 s, 4 s, 8 s, then every 10 s.
 */
export const RECONNECT_DELAYS_MS: readonly number[] = [
  250, 500, 1_000, 2_000, 4_000, 8_000, 10_000,
];

/**
 * How long a request made while disconnected waits for the connection to
 * come back before it fails.
 */
export const QUEUE_TIMEOUT_MS = 10_000;

/** Where the connection stands. */
export type ConnectionStatus =
  'connecting' | 'open' | 'reconnecting' | 'closed';

export interface ConnectionState {
  status: ConnectionStatus;
  /** Failed attempts since the connection was last open. */
  failedAttempts: number;
  /** True once a connection has been open at least once. */
  everConnected: boolean;
  /** True when the page had a token (URL or sessionStorage). */
  hasToken: boolean;
  /** When the next attempt starts (ms since epoch), while reconnecting. */
  nextAttemptAt: number | null;
}

/** A Bridge over WebSocket, with its connection state visible to the UI. */
export interface WsBridge extends Bridge {
  readonly mode: 'serve';
  /** connection returns the current state; the object is replaced on change. */
  connection(): ConnectionState;
  /** onConnectionChange calls the listener on every state change. */
  onConnectionChange(listener: (state: ConnectionState) => void): () => void;
  /** close stops reconnecting, closes the socket and fails pending requests. */
  close(): void;
}

export interface WsBridgeOptions {
  /** Full socket URL; default from `location` and the serve token. */
  url?: string;
  /** Token to use; default {@link takeServeToken} on `window`. */
  token?: string | null;
  /** WebSocket constructor; default the global one. */
  WebSocketImpl?: typeof WebSocket;
  /** Reconnect delays; default {@link RECONNECT_DELAYS_MS}. */
  reconnectDelaysMs?: readonly number[];
  /** Default {@link QUEUE_TIMEOUT_MS}. */
  queueTimeoutMs?: number;
  /** Source of jitter in [0, 1); default Math.random. */
  random?: () => number;
}

/** The parts of `window` the token handling touches. */
export interface TokenWindow {
  location: { href: string };
  history: Pick<History, 'replaceState' | 'state'>;
  sessionStorage: Pick<Storage, 'getItem' | 'setItem'>;
}

/**
 * takeServeToken returns the serve token: from the page URL's `?token=` or
 * `#token=` when present (it is then saved in sessionStorage and removed from
 * the visible URL, other parameters kept), else from sessionStorage, else
 * null.
 */
export function takeServeToken(win: TokenWindow): string | null {
  const url = new URL(win.location.href);
  const hash = new URLSearchParams(url.hash.replace(/^#/, ''));
  const fromQuery = url.searchParams.get('token');
  const fromHash = hash.get('token');
  const found = fromQuery || fromHash;
  if (found) {
    safeStorage(() => win.sessionStorage.setItem(TOKEN_STORAGE_KEY, found));
    if (fromQuery) {
      url.searchParams.delete('token');
    }
    if (fromHash) {
      hash.delete('token');
      const rest = hash.toString();
      url.hash = rest === '' ? '' : `#${rest}`;
    }
    win.history.replaceState(win.history.state, '', url.toString());
    return found;
  }
  return safeStorage(() => win.sessionStorage.getItem(TOKEN_STORAGE_KEY));
}

/** serveSocketUrl builds `ws(s)://<host>/ws?token=<token>` for a page. */
export function serveSocketUrl(
  location: { protocol: string; host: string },
  token: string | null,
): string {
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  const query = token ? `?token=${encodeURIComponent(token)}` : '';
  return `${scheme}://${location.host}/ws${query}`;
}

/** isWsBridge tells a serve-mode bridge from the desktop one. */
export function isWsBridge(bridge: Bridge): bridge is WsBridge {
  return (
    typeof (bridge as Partial<WsBridge>).onConnectionChange === 'function' &&
    typeof (bridge as Partial<WsBridge>).connection === 'function'
  );
}

interface Waiting {
  id: number;
  channel: Channel;
  text: string;
  resolve: (result: Result<unknown>) => void;
  timer: ReturnType<typeof setTimeout> | null;
}

const KNOWN_EVENTS: Record<EventName, true> = {
  'transfers:didChange': true,
  'transfers:didFinish': true,
  'session:didChange': true,
  'watch:didChange': true,
  'watch:didFinishRun': true,
};

/**
 * createWsBridge connects at once and keeps reconnecting (with backoff)
 * until {@link WsBridge.close}. Requests are answered in any order, matched
 * by id. A request sent on a connection that drops before its answer
 * resolves with code `network`; one made while disconnected waits up to
 * `queueTimeoutMs` for the connection, then resolves with code `network`.
 * `invoke` never rejects.
 */
export function createWsBridge(options: WsBridgeOptions = {}): WsBridge {
  const token =
    options.token !== undefined
      ? options.token
      : typeof window === 'undefined'
        ? null
        : takeServeToken(window);
  const url =
    options.url ??
    serveSocketUrl(
      typeof location === 'undefined'
        ? { protocol: 'http:', host: '127.0.0.1' }
        : location,
      token,
    );
  const WebSocketImpl = options.WebSocketImpl ?? globalThis.WebSocket;
  const delays = options.reconnectDelaysMs ?? RECONNECT_DELAYS_MS;
  const queueTimeoutMs = options.queueTimeoutMs ?? QUEUE_TIMEOUT_MS;
  const random = options.random ?? Math.random;

  const listeners = new Map<EventName, Set<(payload: never) => void>>();
  const connectionListeners = new Set<(state: ConnectionState) => void>();
  // Sent and waiting for an answer on the current socket.
  const pending = new Map<number, Waiting>();
  // Not sent yet: made while the socket was not open; sent in id order.
  const queued = new Map<number, Waiting>();
  let nextId = 1;
  let socket: WebSocket | null = null;
  let retryTimer: ReturnType<typeof setTimeout> | null = null;
  let closedByUser = false;
  let state: ConnectionState = {
    status: 'connecting',
    failedAttempts: 0,
    everConnected: false,
    hasToken: Boolean(token),
    nextAttemptAt: null,
  };

  function setState(patch: Partial<ConnectionState>): void {
    state = { ...state, ...patch };
    for (const listener of [...connectionListeners]) {
      try {
        listener(state);
      } catch (err) {
        console.error('wsBridge: connection listener threw', err);
      }
    }
  }

  function connect(): void {
    retryTimer = null;
    let ws: WebSocket;
    try {
      ws = new WebSocketImpl(url);
    } catch (err) {
      console.error('wsBridge: cannot open the socket', err);
      scheduleReconnect();
      return;
    }
    socket = ws;
    setState({
      status:
        state.everConnected || state.failedAttempts > 0
          ? 'reconnecting'
          : 'connecting',
      nextAttemptAt: null,
    });
    ws.addEventListener('open', () => {
      if (socket !== ws) {
        return;
      }
      setState({ status: 'open', failedAttempts: 0, everConnected: true });
      flushQueue();
    });
    ws.addEventListener('message', (event) => {
      if (socket === ws) {
        receive(event.data);
      }
    });
    ws.addEventListener('close', () => {
      if (socket !== ws) {
        return;
      }
      socket = null;
      failPending();
      if (closedByUser) {
        return;
      }
      scheduleReconnect();
    });
    // An 'error' is always followed by 'close', which does the work.
    ws.addEventListener('error', () => undefined);
  }

  function scheduleReconnect(): void {
    const attempt = state.failedAttempts;
    const base = delays[Math.min(attempt, delays.length - 1)] ?? 1_000;
    const delay = Math.round(base * (0.8 + 0.4 * random()));
    setState({
      status: 'reconnecting',
      failedAttempts: attempt + 1,
      nextAttemptAt: Date.now() + delay,
    });
    retryTimer = setTimeout(connect, delay);
  }

  function flushQueue(): void {
    const ws = socket;
    if (!ws) {
      return;
    }
    const ordered = [...queued.values()].sort((a, b) => a.id - b.id);
    for (const waiting of ordered) {
      queued.delete(waiting.id);
      if (waiting.timer) {
        clearTimeout(waiting.timer);
        waiting.timer = null;
      }
      send(ws, waiting);
    }
  }

  function send(ws: WebSocket, waiting: Waiting): void {
    pending.set(waiting.id, waiting);
    try {
      ws.send(waiting.text);
    } catch (err) {
      pending.delete(waiting.id);
      waiting.resolve(
        failure(
          'network',
          `Could not send "${waiting.channel}" to the gencove-desktop server: ${String(err)}`,
        ),
      );
    }
  }

  function failPending(): void {
    const cut = [...pending.values()];
    pending.clear();
    for (const waiting of cut) {
      waiting.resolve(
        failure(
          'network',
          `The connection to the gencove-desktop server closed before "${waiting.channel}" was answered; it may or may not have been carried out.`,
        ),
      );
    }
  }

  function receive(data: unknown): void {
    if (typeof data !== 'string') {
      console.warn('wsBridge: ignored a non-text frame');
      return;
    }
    let frame: unknown;
    try {
      frame = JSON.parse(data);
    } catch {
      console.warn('wsBridge: ignored a frame that is not JSON');
      return;
    }
    if (typeof frame !== 'object' || frame === null) {
      console.warn('wsBridge: ignored a frame that is not an object');
      return;
    }
    if ('id' in frame && typeof frame.id === 'number') {
      const waiting = pending.get(frame.id);
      if (!waiting) {
        console.warn(
          `wsBridge: ignored an answer to unknown request ${frame.id}`,
        );
        return;
      }
      pending.delete(frame.id);
      const result = 'result' in frame ? frame.result : undefined;
      waiting.resolve(
        isResult(result)
          ? result
          : failure(
              'internal',
              `The gencove-desktop server answered "${waiting.channel}" with a malformed result.`,
            ),
      );
      return;
    }
    if (
      'event' in frame &&
      typeof frame.event === 'string' &&
      Object.hasOwn(KNOWN_EVENTS, frame.event)
    ) {
      const name = frame.event as EventName;
      const payload = 'payload' in frame ? frame.payload : undefined;
      for (const listener of [...(listeners.get(name) ?? [])]) {
        try {
          (listener as (p: unknown) => void)(payload);
        } catch (err) {
          console.error(`wsBridge: listener of ${name} threw`, err);
        }
      }
      return;
    }
    console.warn('wsBridge: ignored a frame of unknown shape');
  }

  function invoke<C extends Channel>(
    channel: C,
    request: RequestOf<C>,
  ): Promise<Result<ResponseOf<C>>> {
    return new Promise((resolve) => {
      if (closedByUser) {
        resolve(
          failure(
            'network',
            'The connection to the gencove-desktop server was closed.',
          ),
        );
        return;
      }
      const id = nextId++;
      const frame: ClientFrame = { id, channel, request };
      let text: string;
      try {
        text = JSON.stringify(frame);
      } catch (err) {
        resolve(
          failure(
            'invalid-request',
            `The request for "${channel}" cannot be sent: ${String(err)}`,
          ),
        );
        return;
      }
      const waiting: Waiting = {
        id,
        channel,
        text,
        resolve: resolve as (result: Result<unknown>) => void,
        timer: null,
      };
      if (socket && socket.readyState === WebSocketImpl.OPEN) {
        send(socket, waiting);
        return;
      }
      waiting.timer = setTimeout(() => {
        queued.delete(id);
        resolve(
          failure(
            'network',
            state.hasToken
              ? `Not connected to the gencove-desktop server; "${channel}" was not sent.`
              : `Not connected to the gencove-desktop server; "${channel}" was not sent. Open the link printed by \`gencove-desktop serve\` (it carries the access token).`,
          ),
        );
      }, queueTimeoutMs);
      queued.set(id, waiting);
    });
  }

  function on<E extends EventName>(
    event: E,
    listener: (payload: EventMap[E]) => void,
  ): () => void {
    let set = listeners.get(event);
    if (!set) {
      set = new Set();
      listeners.set(event, set);
    }
    set.add(listener as (payload: never) => void);
    return () => {
      listeners.get(event)?.delete(listener as (payload: never) => void);
    };
  }

  function close(): void {
    if (closedByUser) {
      return;
    }
    closedByUser = true;
    if (retryTimer) {
      clearTimeout(retryTimer);
      retryTimer = null;
    }
    const ws = socket;
    socket = null;
    failPending();
    for (const waiting of queued.values()) {
      if (waiting.timer) {
        clearTimeout(waiting.timer);
      }
      waiting.resolve(
        failure(
          'network',
          `The connection to the gencove-desktop server was closed; "${waiting.channel}" was not sent.`,
        ),
      );
    }
    queued.clear();
    ws?.close();
    setState({ status: 'closed', nextAttemptAt: null });
  }

  connect();

  return {
    mode: 'serve',
    invoke,
    on,
    pathForFile: () => null,
    connection: () => state,
    onConnectionChange(listener) {
      connectionListeners.add(listener);
      return () => {
        connectionListeners.delete(listener);
      };
    },
    close,
  };
}

function failure(code: ContractError['code'], message: string) {
  return { ok: false as const, error: { code, message } };
}

function isResult(value: unknown): value is Result<unknown> {
  if (typeof value !== 'object' || value === null || !('ok' in value)) {
    return false;
  }
  if (value.ok === true) {
    // `{ok: true}` without a value is a null answer whose value JSON dropped.
    return true;
  }
  if (value.ok !== false || !('error' in value)) {
    return false;
  }
  const error = value.error;
  return (
    typeof error === 'object' &&
    error !== null &&
    'code' in error &&
    typeof error.code === 'string' &&
    'message' in error &&
    typeof error.message === 'string'
  );
}

function safeStorage<T>(fn: () => T): T | null {
  try {
    return fn();
  } catch {
    // Storage can be disabled (private modes, sandboxed frames).
    return null;
  }
}
