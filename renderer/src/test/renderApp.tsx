/**
 * Mounts renderer components with a fresh store and notifier around a fake
 * bridge. Test-only.
 */
import { render } from '@testing-library/react';
import type { ReactElement } from 'react';

import type { Bridge } from '../../../shared/contract.ts';
import { createNotifier } from '../lib/notify.ts';
import type { NotificationLike } from '../lib/notify.ts';
import { createAppStore } from '../store/index.ts';
import type { AppStore } from '../store/index.ts';
import { AppProvider } from '../store/react.tsx';
import type { AppServices } from '../store/react.tsx';

export interface RenderAppOptions {
  store?: AppStore;
  /** Default null: no system notifications, toasts only. */
  NotificationImpl?: NotificationLike | null;
}

export function renderApp(
  ui: ReactElement,
  bridge: Bridge,
  options: RenderAppOptions = {},
) {
  const store = options.store ?? createAppStore(bridge);
  const notifier = createNotifier({
    mode: bridge.mode,
    pushToast: (toast) => store.getState().pushToast(toast),
    NotificationImpl: options.NotificationImpl ?? null,
  });
  const services: AppServices = { bridge, store, notifier };
  const result = render(<AppProvider services={services}>{ui}</AppProvider>);
  return { ...result, store, services };
}
