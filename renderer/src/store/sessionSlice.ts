/**
 * Session slice: who is signed in where, and the sign-in flow (including the
 * one-time-code step).
 */
import type {
  ContractError,
  SessionInfo,
  SignInRequest,
} from '../../../shared/contract.ts';
import { call, toContractError } from '../lib/call.ts';
import { initialPlanState } from './planSlice.ts';
import { initialProjectsState } from './projectsSlice.ts';
import { initialSamplesState } from './samplesSlice.ts';
import type { LoadStatus, SliceCreator } from './types.ts';
import { initialUiState } from './uiSlice.ts';
import { initialWatchState } from './watchSlice.ts';

export interface SignInState {
  pending: boolean;
  error: ContractError | null;
  /** True after the platform answered `otp-required`: ask for the code. */
  otpRequired: boolean;
}

export interface SessionSlice {
  session: SessionInfo | null;
  sessionStatus: LoadStatus;
  sessionError: ContractError | null;
  signIn: SignInState;
  /** loadSession asks the engine who is signed in (`session:get`). */
  loadSession(): Promise<void>;
  /** submitSignIn signs in; resolves true on success. Never rejects. */
  submitSignIn(request: SignInRequest): Promise<boolean>;
  /** signOut signs out; data of the account is cleared. Never rejects. */
  signOut(): Promise<void>;
  /** setSession applies a session from a response or `session:didChange`. */
  setSession(info: SessionInfo): void;
  /** cancelOtp leaves the one-time-code step. */
  cancelOtp(): void;
  /** clearSignInError forgets the last sign-in error (a new attempt). */
  clearSignInError(): void;
}

const idleSignIn: SignInState = {
  pending: false,
  error: null,
  otpRequired: false,
};

function identity(info: SessionInfo | null): string {
  if (!info || !info.signedIn) {
    return '';
  }
  return `${info.host?.kind ?? ''}|${info.hostUrl ?? ''}|${info.email ?? ''}`;
}

export const createSessionSlice: SliceCreator<SessionSlice> =
  ({ bridge }) =>
  (set, get) => ({
    session: null,
    sessionStatus: 'idle',
    sessionError: null,
    signIn: idleSignIn,

    async loadSession() {
      set({ sessionStatus: 'loading', sessionError: null });
      try {
        const info = await call(bridge, 'session:get', {});
        get().setSession(info);
      } catch (err) {
        set({ sessionStatus: 'error', sessionError: toContractError(err) });
      }
    },

    async submitSignIn(request) {
      set({ signIn: { ...get().signIn, pending: true, error: null } });
      try {
        const info = await call(bridge, 'session:signIn', request);
        set({ signIn: idleSignIn });
        get().setSession(info);
        return true;
      } catch (err) {
        const error = toContractError(err);
        const sentOtp =
          request.credentials.kind === 'password' &&
          Boolean(request.credentials.otp);
        set({
          signIn: {
            pending: false,
            // The first code prompt is a step, not a mistake: no error then.
            error: error.code === 'otp-required' && !sentOtp ? null : error,
            otpRequired:
              error.code === 'otp-required' ||
              (sentOtp && error.code === 'bad-credentials'),
          },
        });
        return false;
      }
    },

    async signOut() {
      try {
        const info = await call(bridge, 'session:signOut', {});
        get().setSession(info);
      } catch (err) {
        const error = toContractError(err);
        get().pushToast({
          kind: 'error',
          title: 'Could not sign out',
          message: error.message,
        });
      }
    },

    setSession(info) {
      const before = identity(get().session);
      const after = identity(info);
      const patch = {
        session: info,
        sessionStatus: 'ready' as const,
        sessionError: null,
      };
      if (before !== after) {
        // Another account (or none): nothing of the previous one may show.
        set({
          ...patch,
          ...initialProjectsState,
          ...initialSamplesState,
          ...initialPlanState,
          ...initialUiState,
          ...initialWatchState,
          signIn: idleSignIn,
        });
        return;
      }
      set(patch);
    },

    cancelOtp() {
      set({ signIn: idleSignIn });
    },

    clearSignInError() {
      if (get().signIn.error) {
        set({ signIn: { ...get().signIn, error: null } });
      }
    },
  });
