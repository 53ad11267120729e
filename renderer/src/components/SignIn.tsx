/**
 * SignIn: choose the platform (built-in sandbox by default, Gencove
 * production, staging, or a custom host) and sign in with email + password
 * (then a one-time code when the platform asks for one) or an API key.
 *
 * data-testid: `signin` (screen), `signin-host-sandbox`,
 * `signin-host-production`, `signin-host-staging`, `signin-host-custom`
 * (host radios), `signin-sandbox-button` (one-click sandbox),
 * `signin-use-account` (sandbox with an account), `signin-custom-url`,
 * `signin-method-password`, `signin-method-api-key`, `signin-email`,
 * `signin-password`, `signin-api-key`, `signin-remember`, `signin-otp`,
 * `signin-otp-back`, `signin-submit`, `signin-error`.
 */
import { useState } from 'react';
import type { FormEvent } from 'react';

import type {
  ContractError,
  HostChoice,
  SignInRequest,
} from '../../../shared/contract.ts';
import { HOSTS } from '../../../shared/domain.ts';
import { useAppStore } from '../store/react.tsx';
import { ErrorNote } from './ErrorNote.tsx';

type HostKind = HostChoice['kind'];
type Method = 'password' | 'api-key';

const HOST_OPTIONS: readonly {
  kind: HostKind;
  label: string;
  detail: string;
}[] = [
  {
    kind: 'sandbox',
    label: 'Sandbox',
    detail: 'Built into this app: try everything, no account needed.',
  },
  {
    kind: 'production',
    label: 'Gencove',
    detail: new URL(HOSTS.production).host,
  },
  {
    kind: 'staging',
    label: 'Gencove staging',
    detail: `${new URL(HOSTS.staging).host}, for development and testing`,
  },
  {
    kind: 'custom',
    label: 'Custom host',
    detail: 'Another server that speaks the Gencove API',
  },
];

/** customUrlError checks the custom host URL; null when usable. */
export function customUrlError(value: string): string | null {
  const text = value.trim();
  if (text === '') {
    return 'Enter the address of the host, for example https://api.example.org.';
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return `"${text}" is not a URL; include the scheme, for example https://${text}.`;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    return 'The host address must start with https:// or http://.';
  }
  return null;
}

type CredentialKind = SignInRequest['credentials']['kind'];

const SIGN_IN_PREFIX = /^\s*sign-in failed\s*[:.]\s*/i;

/**
 * signInErrorText words a failed sign-in for the note under the form, whose
 * title already says "Sign-in failed.": the message without that prefix,
 * and a hint that fits the credentials that were tried (an API key is never
 * told to check the email and password). Hint undefined: the error code's
 * usual hint; null: none.
 */
export function signInErrorText(
  error: ContractError,
  kind: CredentialKind,
): { message: string; hint: string | null | undefined } {
  const rest = error.message.replace(SIGN_IN_PREFIX, '').trim();
  let message =
    rest === '' ? 'The platform gave no reason.' : capitalise(rest);
  if (!/[.!?]$/.test(message)) {
    message = `${message}.`;
  }
  if (error.code !== 'bad-credentials') {
    return { message, hint: undefined };
  }
  switch (kind) {
    case 'api-key':
      return {
        // The engine's generic wording lists email and password too.
        message: /e-?mail|password/i.test(message)
          ? 'The API key was not accepted.'
          : message,
        hint: 'Copy the key again from the platform’s account settings; a revoked or expired key no longer works.',
      };
    case 'password':
      return {
        message,
        hint: 'Check the email address and the password.',
      };
    case 'sandbox-demo':
      return { message, hint: null };
  }
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

export function SignIn() {
  const signIn = useAppStore((s) => s.signIn);
  const submitSignIn = useAppStore((s) => s.submitSignIn);
  const cancelOtp = useAppStore((s) => s.cancelOtp);

  const [hostKind, setHostKind] = useState<HostKind>('sandbox');
  const [sandboxAccount, setSandboxAccount] = useState(false);
  const [customUrl, setCustomUrl] = useState('');
  const [method, setMethod] = useState<Method>('password');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [apiKey, setApiKey] = useState('');
  const [otp, setOtp] = useState('');
  const [remember, setRemember] = useState(true);
  const [localError, setLocalError] = useState<string | null>(null);
  // What the last attempt sent, to word its error.
  const [triedKind, setTriedKind] = useState<CredentialKind>('sandbox-demo');
  const clearSignInError = useAppStore((s) => s.clearSignInError);

  const showCredentials = hostKind !== 'sandbox' || sandboxAccount;

  function hostChoice(): HostChoice | null {
    if (hostKind !== 'custom') {
      return { kind: hostKind };
    }
    const problem = customUrlError(customUrl);
    if (problem) {
      setLocalError(problem);
      return null;
    }
    return { kind: 'custom', url: customUrl.trim() };
  }

  /** startAttempt clears every earlier error: a new attempt begins. */
  function startAttempt() {
    setLocalError(null);
    clearSignInError();
  }

  function openSandbox() {
    startAttempt();
    setTriedKind('sandbox-demo');
    void submitSignIn({
      host: { kind: 'sandbox' },
      credentials: { kind: 'sandbox-demo' },
      remember,
    });
  }

  function onSubmit(event: FormEvent) {
    event.preventDefault();
    startAttempt();
    const host = hostChoice();
    if (!host) {
      return;
    }
    let credentials: SignInRequest['credentials'];
    if (method === 'api-key') {
      if (apiKey.trim() === '') {
        setLocalError(
          'Paste the API key from the platform’s account settings.',
        );
        return;
      }
      credentials = { kind: 'api-key', apiKey: apiKey.trim() };
    } else {
      if (email.trim() === '' || password === '') {
        setLocalError('Enter both the email address and the password.');
        return;
      }
      if (signIn.otpRequired && otp.trim() === '') {
        setLocalError('Enter the one-time code from your authenticator app.');
        return;
      }
      credentials = {
        kind: 'password',
        email: email.trim(),
        password,
        ...(signIn.otpRequired ? { otp: otp.trim() } : {}),
      };
    }
    setTriedKind(credentials.kind);
    void submitSignIn({ host, credentials, remember });
  }

  function chooseHost(kind: HostKind) {
    setHostKind(kind);
    startAttempt();
    if (signIn.otpRequired) {
      cancelOtp();
    }
  }

  return (
    <main className="signin" data-testid="signin">
      <div className="signin-card">
        <header className="signin-header">
          <div className="brand-mark" aria-hidden="true">
            G
          </div>
          <div>
            <h1>Gencove Desktop</h1>
            <p className="muted">
              Send low-pass FASTQ data to Gencove and take its deliverables
              back.
            </p>
          </div>
        </header>

        <fieldset className="host-choice" disabled={signIn.pending}>
          <legend>Where to work</legend>
          {HOST_OPTIONS.map((option) => (
            <label
              key={option.kind}
              className={`host-option${hostKind === option.kind ? ' is-selected' : ''}`}
            >
              <input
                type="radio"
                name="host"
                value={option.kind}
                checked={hostKind === option.kind}
                onChange={() => chooseHost(option.kind)}
                data-testid={`signin-host-${option.kind}`}
              />
              <span className="host-option-text">
                <span className="host-option-label">{option.label}</span>
                <span className="host-option-detail">{option.detail}</span>
              </span>
            </label>
          ))}
        </fieldset>

        {hostKind === 'sandbox' && !sandboxAccount ? (
          <div className="signin-sandbox">
            <button
              type="button"
              className="button button-primary button-large"
              onClick={openSandbox}
              disabled={signIn.pending}
              data-testid="signin-sandbox-button"
              data-autofocus
            >
              {signIn.pending ? 'Opening the sandbox…' : 'Open the sandbox'}
            </button>
            <p className="muted small">
              A local server with its own projects and demo data. Nothing leaves
              this computer.{' '}
              <button
                type="button"
                className="link-button"
                onClick={() => setSandboxAccount(true)}
                data-testid="signin-use-account"
              >
                Sign in to the sandbox with an account instead
              </button>
            </p>
          </div>
        ) : null}

        {showCredentials ? (
          <form className="signin-form" onSubmit={onSubmit} noValidate>
            <fieldset className="stack" disabled={signIn.pending}>
              <legend className="visually-hidden">Credentials</legend>
              {hostKind === 'custom' ? (
                <label className="field">
                  <span className="field-label">Host address</span>
                  <input
                    type="url"
                    inputMode="url"
                    placeholder="https://api.example.org"
                    value={customUrl}
                    onChange={(e) => setCustomUrl(e.target.value)}
                    data-testid="signin-custom-url"
                    autoComplete="url"
                  />
                </label>
              ) : null}

              {signIn.otpRequired ? (
                <div className="otp-step">
                  <p>
                    The platform asks for a one-time code for{' '}
                    <strong>{email}</strong>.
                  </p>
                  <label className="field">
                    <span className="field-label">One-time code</span>
                    <input
                      type="text"
                      inputMode="numeric"
                      autoComplete="one-time-code"
                      value={otp}
                      onChange={(e) => setOtp(e.target.value)}
                      data-testid="signin-otp"
                      autoFocus
                    />
                  </label>
                  <button
                    type="button"
                    className="link-button"
                    onClick={() => {
                      setOtp('');
                      cancelOtp();
                    }}
                    data-testid="signin-otp-back"
                  >
                    Use another account
                  </button>
                </div>
              ) : (
                <>
                  <div
                    className="segmented"
                    role="radiogroup"
                    aria-label="Sign in with"
                  >
                    <label
                      className={method === 'password' ? 'is-selected' : ''}
                    >
                      <input
                        type="radio"
                        name="method"
                        checked={method === 'password'}
                        onChange={() => setMethod('password')}
                        data-testid="signin-method-password"
                      />
                      Email and password
                    </label>
                    <label
                      className={method === 'api-key' ? 'is-selected' : ''}
                    >
                      <input
                        type="radio"
                        name="method"
                        checked={method === 'api-key'}
                        onChange={() => setMethod('api-key')}
                        data-testid="signin-method-api-key"
                      />
                      API key
                    </label>
                  </div>
                  {method === 'password' ? (
                    <>
                      <label className="field">
                        <span className="field-label">Email</span>
                        <input
                          type="email"
                          autoComplete="username"
                          value={email}
                          onChange={(e) => setEmail(e.target.value)}
                          data-testid="signin-email"
                        />
                      </label>
                      <label className="field">
                        <span className="field-label">Password</span>
                        <input
                          type="password"
                          autoComplete="current-password"
                          value={password}
                          onChange={(e) => setPassword(e.target.value)}
                          data-testid="signin-password"
                        />
                      </label>
                    </>
                  ) : (
                    <label className="field">
                      <span className="field-label">API key</span>
                      <input
                        type="password"
                        autoComplete="off"
                        spellCheck={false}
                        value={apiKey}
                        onChange={(e) => setApiKey(e.target.value)}
                        data-testid="signin-api-key"
                      />
                    </label>
                  )}
                </>
              )}

              <label className="check">
                <input
                  type="checkbox"
                  checked={remember}
                  onChange={(e) => setRemember(e.target.checked)}
                  data-testid="signin-remember"
                />
                Stay signed in on this computer
              </label>

              <div className="row-actions">
                {hostKind === 'sandbox' ? (
                  <button
                    type="button"
                    className="button button-ghost"
                    onClick={() => setSandboxAccount(false)}
                  >
                    Back to one-click sandbox
                  </button>
                ) : null}
                <button
                  type="submit"
                  className="button button-primary"
                  data-testid="signin-submit"
                >
                  {signIn.pending
                    ? 'Signing in…'
                    : signIn.otpRequired
                      ? 'Verify code'
                      : 'Sign in'}
                </button>
              </div>
            </fieldset>
          </form>
        ) : null}

        {localError ? (
          <p className="field-error" role="alert" data-testid="signin-error">
            {localError}
          </p>
        ) : null}
        {signIn.error && !localError ? (
          <SignInError error={signIn.error} kind={triedKind} />
        ) : null}
      </div>
    </main>
  );
}

function SignInError(props: { error: ContractError; kind: CredentialKind }) {
  const { message, hint } = signInErrorText(props.error, props.kind);
  return (
    <ErrorNote
      error={{ ...props.error, message }}
      hint={hint}
      title="Sign-in failed."
      testId="signin-error"
    />
  );
}
