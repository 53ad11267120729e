/**
 * Picks the renderer's Bridge: the desktop one exposed by the preload script
 * as `window.gencove`, else the serve-mode WebSocket bridge.
 */
import type { Bridge } from '../../../shared/contract.ts';
import { createWsBridge } from './wsBridge.ts';

export { isWsBridge } from './wsBridge.ts';
export type { ConnectionState, WsBridge } from './wsBridge.ts';

/**
 * getBridge returns `window.gencove` when the preload exposed it (desktop),
 * otherwise a new WebSocket bridge to this page's server (serve mode). Call
 * it once per page.
 */
export function getBridge(): Bridge {
  const exposed = (window as Window & { gencove?: Bridge }).gencove;
  if (exposed && typeof exposed.invoke === 'function') {
    return exposed;
  }
  return createWsBridge();
}
