/**
 * Renderer entry: picks the bridge, builds the store, connects the engine's
 * events to it, and mounts the app.
 */
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';

import { getBridge } from './bridge/index.ts';
import { App } from './components/App.tsx';
import { createNotifier } from './lib/notify.ts';
import { createAppStore } from './store/index.ts';
import { connectBridgeEvents } from './store/bridgeEvents.ts';
import { AppProvider } from './store/react.tsx';

const root = document.getElementById('root');
if (!root) {
  throw new Error('renderer: the page has no #root element');
}

const bridge = getBridge();
const store = createAppStore(bridge);
const notifier = createNotifier({
  mode: bridge.mode,
  pushToast: (toast) => store.getState().pushToast(toast),
});
connectBridgeEvents(bridge, store, notifier);

createRoot(root).render(
  <StrictMode>
    <AppProvider services={{ bridge, store, notifier }}>
      <App />
    </AppProvider>
  </StrictMode>,
);
