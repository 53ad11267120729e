/**
 * ConnectionBanner: in serve mode, says when the page has lost its
 * connection to the gencove-desktop server and when it retries; silent on
 * the desktop.
 *
 * data-testid: `connection-banner` (with `data-status`).
 */
import { useEffect, useState } from 'react';

import { isWsBridge } from '../bridge/wsBridge.ts';
import type { ConnectionState } from '../bridge/wsBridge.ts';
import { useBridge } from '../store/react.tsx';

export function ConnectionBanner() {
  const bridge = useBridge();
  const ws = isWsBridge(bridge) ? bridge : null;
  const [state, setState] = useState<ConnectionState | null>(
    ws ? ws.connection() : null,
  );

  useEffect(() => {
    if (!ws) {
      return;
    }
    setState(ws.connection());
    return ws.onConnectionChange(setState);
  }, [ws]);

  if (!state || state.status === 'open' || state.status === 'connecting') {
    return null;
  }
  let text: string;
  if (state.status === 'closed') {
    text =
      'Disconnected from the gencove-desktop server. Reload the page to reconnect.';
  } else if (!state.hasToken) {
    text =
      'This page has no access token. Open the link printed by `gencove-desktop serve` (it ends in ?token=…).';
  } else if (!state.everConnected) {
    text = `Cannot reach the gencove-desktop server (attempt ${state.failedAttempts}). Is \`gencove-desktop serve\` still running, and is this its latest link?`;
  } else {
    text = `Connection to the gencove-desktop server lost; reconnecting (attempt ${state.failedAttempts})…`;
  }
  return (
    <div
      className="banner banner-warning"
      role="status"
      data-testid="connection-banner"
      data-status={state.status}
    >
      {text}
    </div>
  );
}
