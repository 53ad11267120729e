/**
 * Types of the bound store: one slice per domain, combined into AppState.
 */
import type { StateCreator, StoreApi } from 'zustand';

import type { Bridge } from '../../../shared/contract.ts';
import type { PlanSlice } from './planSlice.ts';
import type { ProjectsSlice } from './projectsSlice.ts';
import type { SamplesSlice } from './samplesSlice.ts';
import type { SessionSlice } from './sessionSlice.ts';
import type { TransfersSlice } from './transfersSlice.ts';
import type { UiSlice } from './uiSlice.ts';
import type { WatchSlice } from './watchSlice.ts';

export type AppState = SessionSlice &
  ProjectsSlice &
  SamplesSlice &
  PlanSlice &
  TransfersSlice &
  UiSlice &
  WatchSlice;

export type AppStore = StoreApi<AppState>;

/** What every slice's actions may use. */
export interface StoreDeps {
  bridge: Bridge;
}

/** A slice creator: gets the deps, returns zustand's creator for its part. */
export type SliceCreator<T> = (
  deps: StoreDeps,
) => StateCreator<AppState, [], [], T>;

/** Where a loadable piece of state stands. */
export type LoadStatus = 'idle' | 'loading' | 'ready' | 'error';
