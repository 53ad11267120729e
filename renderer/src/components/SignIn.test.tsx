// @vitest-environment jsdom
import { cleanup, fireEvent, screen, waitFor } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';

import type { RequestOf, SessionInfo } from '../../../shared/contract.ts';
import { ContractFailure, createFakeBridge } from '../test/fakeBridge.ts';
import { makeSession } from '../test/factories.ts';
import { renderApp } from '../test/renderApp.tsx';
import { SignIn, customUrlError } from './SignIn.tsx';

afterEach(cleanup);

function setup(
  handler: (
    req: RequestOf<'session:signIn'>,
  ) => SessionInfo | Promise<SessionInfo>,
) {
  const bridge = createFakeBridge();
  bridge.handle('session:signIn', handler);
  const utils = renderApp(<SignIn />, bridge);
  return { ...utils, bridge };
}

describe('SignIn', () => {
  it('opens the sandbox in one click, without an account', async () => {
    const { bridge, store } = setup(() => makeSession());
    expect(
      (screen.getByTestId('signin-host-sandbox') as HTMLInputElement).checked,
    ).toBe(true);

    fireEvent.click(screen.getByTestId('signin-sandbox-button'));

    await waitFor(() => expect(store.getState().session?.signedIn).toBe(true));
    expect(bridge.callsOf('session:signIn')).toEqual([
      {
        host: { kind: 'sandbox' },
        credentials: { kind: 'sandbox-demo' },
        remember: true,
      },
    ]);
  });

  it('signs in to production with email and password', async () => {
    const { bridge, store } = setup(() =>
      makeSession({
        host: { kind: 'production' },
        sandbox: false,
        email: 'a@lab.org',
      }),
    );

    fireEvent.click(screen.getByTestId('signin-host-production'));
    fireEvent.change(screen.getByTestId('signin-email'), {
      target: { value: ' a@lab.org ' },
    });
    fireEvent.change(screen.getByTestId('signin-password'), {
      target: { value: 'pw' },
    });
    fireEvent.click(screen.getByTestId('signin-remember'));
    fireEvent.click(screen.getByTestId('signin-submit'));

    await waitFor(() =>
      expect(store.getState().session?.email).toBe('a@lab.org'),
    );
    expect(bridge.callsOf('session:signIn')).toEqual([
      {
        host: { kind: 'production' },
        credentials: { kind: 'password', email: 'a@lab.org', password: 'pw' },
        remember: false,
      },
    ]);
  });

  it('asks for the one-time code when the platform requires it, then sends it', async () => {
    const { bridge, store } = setup((req) => {
      if (req.credentials.kind === 'password' && !req.credentials.otp) {
        throw new ContractFailure(
          'otp-required',
          'Please enter your OTP token.',
        );
      }
      return makeSession({ host: { kind: 'staging' }, sandbox: false });
    });
    fireEvent.click(screen.getByTestId('signin-host-staging'));
    fireEvent.change(screen.getByTestId('signin-email'), {
      target: { value: 'a@lab.org' },
    });
    fireEvent.change(screen.getByTestId('signin-password'), {
      target: { value: 'pw' },
    });
    fireEvent.click(screen.getByTestId('signin-submit'));

    const otp = await screen.findByTestId('signin-otp');
    expect(screen.queryByTestId('signin-error')).toBeNull();
    expect(screen.getByTestId('signin-submit').textContent).toBe('Verify code');
    fireEvent.change(otp, { target: { value: '123456' } });
    fireEvent.click(screen.getByTestId('signin-submit'));

    await waitFor(() => expect(store.getState().session?.signedIn).toBe(true));
    expect(bridge.callsOf('session:signIn')[1].credentials).toEqual({
      kind: 'password',
      email: 'a@lab.org',
      password: 'pw',
      otp: '123456',
    });
  });

  it('shows a wrong one-time code as an error and stays on the code step', async () => {
    setup((req) => {
      if (req.credentials.kind === 'password' && req.credentials.otp) {
        throw new ContractFailure('bad-credentials', 'The code is not valid.');
      }
      throw new ContractFailure('otp-required', 'Please enter your OTP token.');
    });
    fireEvent.click(screen.getByTestId('signin-host-production'));
    fireEvent.change(screen.getByTestId('signin-email'), {
      target: { value: 'a@lab.org' },
    });
    fireEvent.change(screen.getByTestId('signin-password'), {
      target: { value: 'pw' },
    });
    fireEvent.click(screen.getByTestId('signin-submit'));
    fireEvent.change(await screen.findByTestId('signin-otp'), {
      target: { value: '000000' },
    });

    fireEvent.click(screen.getByTestId('signin-submit'));

    const error = await screen.findByTestId('signin-error');
    expect(error.textContent).toContain('The code is not valid.');
    expect(error.dataset.code).toBe('bad-credentials');
    expect(screen.getByTestId('signin-otp')).toBeTruthy();
  });

  it('shows the engine’s error with its code and a hint for an API key', async () => {
    setup(() => {
      throw new ContractFailure(
        'bad-credentials',
        'No active account found with the given credentials.',
      );
    });
    fireEvent.click(screen.getByTestId('signin-host-production'));
    fireEvent.click(screen.getByTestId('signin-method-api-key'));
    fireEvent.change(screen.getByTestId('signin-api-key'), {
      target: { value: 'k-123' },
    });

    fireEvent.click(screen.getByTestId('signin-submit'));

    const error = await screen.findByTestId('signin-error');
    expect(error.textContent).toContain(
      'No active account found with the given credentials.',
    );
    expect(error.textContent).toContain('Copy the key again');
    expect(error.textContent).not.toMatch(/email|password/i);
  });

  it('checks the custom host address before sending anything', () => {
    const { bridge } = setup(() => makeSession());
    fireEvent.click(screen.getByTestId('signin-host-custom'));
    fireEvent.change(screen.getByTestId('signin-custom-url'), {
      target: { value: 'api.example.org' },
    });
    fireEvent.change(screen.getByTestId('signin-email'), {
      target: { value: 'a@b.c' },
    });
    fireEvent.change(screen.getByTestId('signin-password'), {
      target: { value: 'pw' },
    });

    fireEvent.click(screen.getByTestId('signin-submit'));

    expect(screen.getByTestId('signin-error').textContent).toContain(
      'include the scheme',
    );
    expect(bridge.callsOf('session:signIn')).toHaveLength(0);
  });

  it('sends a valid custom host with an API key', async () => {
    const { bridge } = setup(() =>
      makeSession({ host: { kind: 'custom', url: 'https://api.example.org' } }),
    );
    fireEvent.click(screen.getByTestId('signin-host-custom'));
    fireEvent.change(screen.getByTestId('signin-custom-url'), {
      target: { value: 'https://api.example.org' },
    });
    fireEvent.click(screen.getByTestId('signin-method-api-key'));
    fireEvent.change(screen.getByTestId('signin-api-key'), {
      target: { value: ' key ' },
    });

    fireEvent.click(screen.getByTestId('signin-submit'));

    await waitFor(() =>
      expect(bridge.callsOf('session:signIn')).toHaveLength(1),
    );
    expect(bridge.callsOf('session:signIn')[0]).toEqual({
      host: { kind: 'custom', url: 'https://api.example.org' },
      credentials: { kind: 'api-key', apiKey: 'key' },
      remember: true,
    });
  });

  it('requires both email and password', () => {
    const { bridge } = setup(() => makeSession());
    fireEvent.click(screen.getByTestId('signin-host-production'));
    fireEvent.change(screen.getByTestId('signin-email'), {
      target: { value: 'a@b.c' },
    });

    fireEvent.click(screen.getByTestId('signin-submit'));

    expect(screen.getByTestId('signin-error').textContent).toContain(
      'email address and the password',
    );
    expect(bridge.callsOf('session:signIn')).toHaveLength(0);
  });

  describe('customUrlError()', () => {
    const cases = [
      { value: '', ok: false },
      { value: 'ftp://x.org', ok: false },
      { value: 'not a url', ok: false },
      { value: 'https://api.example.org', ok: true },
      { value: 'http://127.0.0.1:8000', ok: true },
    ];
    for (const c of cases) {
      it(`${c.ok ? 'accepts' : 'refuses'} ${JSON.stringify(c.value)}`, () => {
        expect(customUrlError(c.value) === null).toBe(c.ok);
      });
    }
  });

  describe('errors (issue #3)', () => {
    function signInWithApiKey(key = 'k-123') {
      fireEvent.click(screen.getByTestId('signin-host-production'));
      fireEvent.click(screen.getByTestId('signin-method-api-key'));
      fireEvent.change(screen.getByTestId('signin-api-key'), {
        target: { value: key },
      });
      fireEvent.click(screen.getByTestId('signin-submit'));
    }

    it('does not repeat "Sign-in failed" from the engine’s message', async () => {
      setup(() => {
        throw new ContractFailure(
          'bad-credentials',
          'Sign-in failed: the email or password was not accepted.',
        );
      });
      fireEvent.click(screen.getByTestId('signin-host-production'));
      fireEvent.change(screen.getByTestId('signin-email'), {
        target: { value: 'a@lab.org' },
      });
      fireEvent.change(screen.getByTestId('signin-password'), {
        target: { value: 'pw' },
      });
      fireEvent.click(screen.getByTestId('signin-submit'));

      const error = await screen.findByTestId('signin-error');

      expect(error.textContent?.match(/sign-in failed/gi)).toHaveLength(1);
      expect(error.textContent).toContain(
        'The email or password was not accepted.',
      );
      expect(error.textContent).toContain(
        'Check the email address and the password.',
      );
    });

    it('never tells an API-key failure to check the email and password', async () => {
      setup(() => {
        throw new ContractFailure(
          'bad-credentials',
          'Sign-in failed: the email, password or API key was not accepted.',
        );
      });

      signInWithApiKey();

      const error = await screen.findByTestId('signin-error');
      expect(error.textContent).toContain('The API key was not accepted.');
      expect(error.textContent).not.toMatch(/email|password/i);
      expect(error.dataset.code).toBe('bad-credentials');
    });

    it('clears the old error as soon as a new attempt starts', async () => {
      let answer: (() => void) | null = null;
      let calls = 0;
      setup(() => {
        calls += 1;
        if (calls === 1) {
          throw new ContractFailure('network', 'The host did not answer.');
        }
        // The second attempt waits: the old error must be gone meanwhile.
        return new Promise<SessionInfo>((resolve) => {
          answer = () => resolve(makeSession());
        });
      });
      signInWithApiKey();
      await screen.findByTestId('signin-error');

      fireEvent.click(screen.getByTestId('signin-submit'));

      await waitFor(() => expect(calls).toBe(2));
      expect(screen.queryByTestId('signin-error')).toBeNull();
      (answer as unknown as () => void)();
    });

    it('shows only the form’s own problem, not an older engine error too', async () => {
      setup(() => {
        throw new ContractFailure('network', 'The host did not answer.');
      });
      signInWithApiKey();
      await screen.findByTestId('signin-error');

      fireEvent.change(screen.getByTestId('signin-api-key'), {
        target: { value: ' ' },
      });
      fireEvent.click(screen.getByTestId('signin-submit'));

      const errors = screen.getAllByTestId('signin-error');
      expect(errors).toHaveLength(1);
      expect(errors[0].textContent).toContain('Paste the API key');
    });
  });
});
