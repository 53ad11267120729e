/**
 * UI slice: which screen is shown, and the in-app toasts.
 */
import type { SliceCreator } from './types.ts';

/** The screens of the signed-in app. */
export type View =
  | { name: 'projects' }
  | { name: 'project'; projectId: string }
  | { name: 'transfers' }
  | { name: 'watch' };

export interface Toast {
  id: number;
  kind: 'info' | 'success' | 'error';
  title: string;
  message?: string;
  /** Optional button; run once, then the toast closes. */
  action?: { label: string; run: () => void };
}

export interface UiSlice {
  view: View;
  toasts: Toast[];
  navigate(view: View): void;
  /** pushToast shows a toast and returns its id. */
  pushToast(toast: Omit<Toast, 'id'>): number;
  dismissToast(id: number): void;
}

/** At most this many toasts are kept; older ones are dropped. */
export const MAX_TOASTS = 5;

export const initialUiState = {
  view: { name: 'projects' } as View,
};

export const createUiSlice: SliceCreator<UiSlice> = () => (set) => {
  let nextToastId = 1;
  return {
    ...initialUiState,
    toasts: [],
    navigate(view) {
      set({ view });
    },
    pushToast(toast) {
      const id = nextToastId++;
      set((s) => ({
        toasts: [...s.toasts, { ...toast, id }].slice(-MAX_TOASTS),
      }));
      return id;
    },
    dismissToast(id) {
      set((s) => ({ toasts: s.toasts.filter((t) => t.id !== id) }));
    },
  };
};
