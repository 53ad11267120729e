/**
 * Desktop notifications with an in-app fallback: the Web Notification API
 * when the user allowed it (always, in Electron), else a toast.
 */
import type { Toast } from '../store/uiSlice.ts';

export interface NotificationMessage {
  kind: 'success' | 'error' | 'info';
  title: string;
  body: string;
  /** Run when the user clicks the notification or the toast's button. */
  onClick?: { label: string; run: () => void };
}

export interface Notifier {
  /** notify shows one message, as a system notification or a toast. */
  notify(message: NotificationMessage): void;
  /**
   * maybeRequestPermission asks the browser for notification permission if
   * it was never asked; call it from a user gesture (a click).
   */
  maybeRequestPermission(): void;
}

/** The part of the Notification constructor this module uses. */
export interface NotificationLike {
  readonly permission: NotificationPermission;
  requestPermission(): Promise<NotificationPermission>;
  new (
    title: string,
    options?: NotificationOptions,
  ): {
    onclick: ((this: unknown, ev: Event) => unknown) | null;
  };
}

export interface NotifierOptions {
  mode: 'desktop' | 'serve';
  pushToast: (toast: Omit<Toast, 'id'>) => number;
  /** Default the global Notification, when there is one. */
  NotificationImpl?: NotificationLike | null;
}

/**
 * createNotifier decides per message. In the desktop app the main process
 * raises the system notification itself (it also works while the window is
 * hidden), so the window only shows an in-app toast. In serve mode: a system
 * notification when the browser allows it, otherwise the toast.
 */
export function createNotifier(options: NotifierOptions): Notifier {
  const Impl =
    options.NotificationImpl !== undefined
      ? options.NotificationImpl
      : typeof Notification === 'undefined'
        ? null
        : (Notification as unknown as NotificationLike);

  function canUseSystem(): boolean {
    if (!Impl || options.mode === 'desktop') {
      return false;
    }
    return Impl.permission === 'granted';
  }

  return {
    notify(message) {
      if (Impl && canUseSystem()) {
        try {
          const n = new Impl(message.title, {
            body: message.body,
            tag: `${message.kind}:${message.title}:${message.body}`,
          });
          const action = message.onClick;
          if (action) {
            n.onclick = () => {
              window.focus();
              action.run();
            };
          }
          return;
        } catch (err) {
          // Some browsers refuse page notifications; the toast still tells.
          console.warn('notify: system notification failed', err);
        }
      }
      options.pushToast({
        kind: message.kind,
        title: message.title,
        message: message.body,
        ...(message.onClick ? { action: message.onClick } : {}),
      });
    },
    maybeRequestPermission() {
      if (Impl && Impl.permission === 'default' && options.mode === 'serve') {
        Impl.requestPermission().catch(() => undefined);
      }
    },
  };
}
