/**
 * React access to the bridge, the store and the notifier of one app
 * instance (tests mount their own).
 */
import { createContext, useContext } from 'react';
import type { ReactNode } from 'react';
import { useStore } from 'zustand';
import { useShallow } from 'zustand/react/shallow';

import type { Bridge } from '../../../shared/contract.ts';
import type { Notifier } from '../lib/notify.ts';
import type { AppState, AppStore } from './types.ts';

export interface AppServices {
  bridge: Bridge;
  store: AppStore;
  notifier: Notifier;
}

const ServicesContext = createContext<AppServices | null>(null);

/** AppProvider makes one app instance's services available below it. */
export function AppProvider(props: {
  services: AppServices;
  children: ReactNode;
}) {
  return (
    <ServicesContext.Provider value={props.services}>
      {props.children}
    </ServicesContext.Provider>
  );
}

/** useServices returns the services; throws outside an AppProvider. */
export function useServices(): AppServices {
  const services = useContext(ServicesContext);
  if (!services) {
    throw new Error('useServices: no AppProvider above this component');
  }
  return services;
}

/** useBridge returns the Bridge of the app. */
export function useBridge(): Bridge {
  return useServices().bridge;
}

/** useAppStore selects from the store; re-renders when the result changes (Object.is). */
export function useAppStore<T>(selector: (state: AppState) => T): T {
  return useStore(useServices().store, selector);
}

/**
 * useAppStoreShallow selects an object or array and re-renders only when
 * one of its top-level entries changes: use it for progress figures.
 */
export function useAppStoreShallow<T>(selector: (state: AppState) => T): T {
  return useStore(useServices().store, useShallow(selector));
}
