/**
 * Binds the contract to Electron IPC: one `ipcMain.handle` per channel, each
 * checking the sender before anything else, then handing the payload to the
 * shared dispatcher (schema validation, Result envelope). Events of the
 * service go to our window only, progress throttled.
 */
import type { IpcMain, WebContents } from 'electron';

import { channels } from '../shared/contract.ts';
import type { Channel, Result } from '../shared/contract.ts';
import { createDispatcher } from './service/dispatcher.ts';
import type { ContractService, DispatchLogger } from './service/dispatcher.ts';
import { forwardEvents } from './service/eventForwarder.ts';

/**
 * The parts of an IpcMainInvokeEvent that the sender check reads. Electron's
 * own event satisfies it; tests build one with the same shape.
 */
export interface InvokeEventLike {
  readonly sender: { readonly id: number };
  readonly senderFrame: {
    readonly url: string;
    readonly parent: unknown;
  } | null;
}

/** Decides whether a call comes from our own app page. */
export type SenderCheck = (event: InvokeEventLike) => boolean;

/** What `ipcMain.handle` receives for one channel. */
export type IpcHandler = (
  event: InvokeEventLike,
  payload: unknown,
) => Promise<Result<unknown>>;

/**
 * createIpcHandlers returns one handler per contract channel, each called
 * exactly as `ipcMain.handle` calls it. A handler resolves (never rejects)
 * to a Result: 'forbidden-sender' when `isTrustedSender` refuses the event
 * (the payload is then not even parsed), 'invalid-request' for a payload
 * the channel's schema refuses, else the service's outcome.
 */
export function createIpcHandlers(
  service: ContractService,
  isTrustedSender: SenderCheck,
  log?: DispatchLogger,
): Record<Channel, IpcHandler> {
  const dispatch = createDispatcher(service, log);
  const handlers = {} as Record<Channel, IpcHandler>;
  for (const channel of Object.keys(channels) as Channel[]) {
    handlers[channel] = async (event, payload) => {
      if (!isTrustedSender(event)) {
        return {
          ok: false,
          error: {
            code: 'forbidden-sender',
            message: `${channel} refused: the call does not come from the app's own page.`,
          },
        };
      }
      return dispatch(channel, payload);
    };
  }
  return handlers;
}

/** Where our app page is loaded from. */
export type AppPageLocation =
  { kind: 'file'; url: string } | { kind: 'dev-server'; url: string };

/**
 * createSenderCheck trusts an event only when it comes from the main frame
 * of our window's web contents (as `getWebContents` returns it at the time
 * of the call), and that frame shows our app page: the same `file://` path
 * as `page.url` (query and hash ignored), or the dev server's origin.
 */
export function createSenderCheck(
  getWebContents: () => { readonly id: number } | null,
  page: AppPageLocation,
): SenderCheck {
  const expected = new URL(page.url);
  return (event) => {
    const contents = getWebContents();
    if (!contents || event.sender.id !== contents.id) return false;

    const frame = event.senderFrame;
    // A frame with a parent is an iframe: never ours.
    if (!frame || frame.parent) return false;

    let url: URL;
    try {
      url = new URL(frame.url);
    } catch {
      return false;
    }
    if (page.kind === 'file') {
      return (
        url.protocol === 'file:' &&
        url.host === expected.host &&
        url.pathname === expected.pathname
      );
    }
    return url.origin === expected.origin;
  };
}

/** Options of {@link registerIpc}. */
export interface RegisterIpcOptions {
  isTrustedSender: SenderCheck;
  /** Our window's contents, or null while there is no window. */
  getWebContents: () => WebContents | null;
  log?: DispatchLogger;
  /** Minimum time between two progress events (default: 250 ms). */
  eventIntervalMs?: number;
}

/**
 * registerIpc installs the handlers of {@link createIpcHandlers} on
 * `ipcMain` and forwards the service's events to our window with
 * `webContents.send`. Channels outside the contract have no handler, so
 * Electron refuses them. Returns a function that removes the handlers and
 * stops forwarding.
 */
export function registerIpc(
  ipcMain: Pick<IpcMain, 'handle' | 'removeHandler'>,
  service: ContractService,
  options: RegisterIpcOptions,
): () => void {
  const handlers = createIpcHandlers(
    service,
    options.isTrustedSender,
    options.log,
  );
  for (const [channel, handler] of Object.entries(handlers)) {
    ipcMain.handle(channel, handler);
  }

  const stopEvents = forwardEvents(
    service,
    (event, payload) => {
      const contents = options.getWebContents();
      if (contents && !contents.isDestroyed()) contents.send(event, payload);
    },
    options.eventIntervalMs,
  );

  return () => {
    stopEvents();
    for (const channel of Object.keys(handlers)) {
      ipcMain.removeHandler(channel);
    }
  };
}
