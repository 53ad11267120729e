/**
 * The bound store: every slice combined into one vanilla zustand store, so
 * the event module can write into it outside React and tests can make a
 * fresh one per test.
 */
import { createStore } from 'zustand/vanilla';

import type { Bridge } from '../../../shared/contract.ts';
import { createPlanSlice } from './planSlice.ts';
import { createProjectsSlice } from './projectsSlice.ts';
import { createSamplesSlice } from './samplesSlice.ts';
import { createSessionSlice } from './sessionSlice.ts';
import { createTransfersSlice } from './transfersSlice.ts';
import type { AppState, AppStore } from './types.ts';
import { createUiSlice } from './uiSlice.ts';
import { createWatchSlice } from './watchSlice.ts';

export type { AppState, AppStore, LoadStatus } from './types.ts';

/**
 * createAppStore builds a new store whose actions talk to the given bridge.
 * Nothing is loaded until an action is called.
 */
export function createAppStore(bridge: Bridge): AppStore {
  const deps = { bridge };
  return createStore<AppState>()((...a) => ({
    ...createSessionSlice(deps)(...a),
    ...createProjectsSlice(deps)(...a),
    ...createSamplesSlice(deps)(...a),
    ...createPlanSlice(deps)(...a),
    ...createTransfersSlice(deps)(...a),
    ...createUiSlice(deps)(...a),
    ...createWatchSlice(deps)(...a),
  }));
}
