import { describe, expect, it } from 'vitest';

import type { Channel } from '../../shared/contract.ts';
import { ApiError, AuthError, NetworkError } from '../engine/errors.ts';
import { createDispatcher } from './dispatcher.ts';
import type { ContractService } from './dispatcher.ts';
import { ServiceError } from './serviceError.ts';

/** A service whose handle() does what each test says; the dispatcher is the unit here. */
function serviceThat(
  handle: (channel: Channel, request: unknown) => Promise<unknown>,
): ContractService & { calls: [Channel, unknown][] } {
  const calls: [Channel, unknown][] = [];
  return {
    calls,
    handle: ((channel: Channel, request: unknown) => {
      calls.push([channel, request]);
      return handle(channel, request);
    }) as ContractService['handle'],
    onDidEmit: () => () => {},
  };
}

describe('createDispatcher()', () => {
  it('passes the parsed request (defaults applied) and wraps the value', async () => {
    const service = serviceThat(async () => 'value');
    const dispatch = createDispatcher(service);

    const result = await dispatch('session:signIn', {
      host: { kind: 'sandbox' },
      credentials: { kind: 'sandbox-demo' },
    });

    expect(result).toEqual({ ok: true, value: 'value' });
    expect(service.calls).toEqual([
      [
        'session:signIn',
        {
          host: { kind: 'sandbox' },
          credentials: { kind: 'sandbox-demo' },
          remember: true,
        },
      ],
    ]);
  });

  it.each([
    [
      'a name outside the contract',
      'shell:exec',
      'Unknown channel "shell:exec".',
    ],
    ['an Object.prototype name', 'toString', 'Unknown channel "toString".'],
    ['a non-string', 42, 'Unknown channel of type number.'],
    [
      'a very long name',
      'x'.repeat(500),
      `Unknown channel "${'x'.repeat(64)}…".`,
    ],
  ])(
    'refuses %s with unknown-channel and never calls the service',
    async (_what, name, message) => {
      const service = serviceThat(async () => null);

      const result = await createDispatcher(service)(name, {});

      expect(result).toEqual({
        ok: false,
        error: { code: 'unknown-channel', message },
      });
      expect(service.calls).toEqual([]);
    },
  );

  it('refuses a payload the schema refuses with invalid-request naming the field', async () => {
    const service = serviceThat(async () => null);

    const result = await createDispatcher(service)('samples:get', {
      sampleId: 'not-a-uuid',
    });

    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.code).toBe('invalid-request');
    expect(result.error.message).toContain('Invalid request for samples:get');
    expect(result.error.message).toContain('sampleId');
    expect(service.calls).toEqual([]);
  });

  it.each([
    [
      'a ServiceError',
      new ServiceError('not-signed-in', 'Sign in first.'),
      'not-signed-in',
      'Sign in first.',
    ],
    [
      'an AuthError',
      new AuthError('otp-required'),
      'otp-required',
      'Sign-in needs a one-time code from your authenticator app.',
    ],
    [
      'a NetworkError',
      new NetworkError('refused', '127.0.0.1:9'),
      'network',
      'Cannot reach 127.0.0.1:9 (connection refused): is the server running?',
    ],
    [
      'a 404 ApiError',
      new ApiError({
        status: 404,
        method: 'GET',
        path: '/api/v2/samples/x',
        body: { detail: 'Not found.' },
      }),
      'not-found',
      'GET /api/v2/samples/x failed: 404 Not Found: Not found.',
    ],
    ['a bug', new TypeError('x is undefined'), 'internal', 'x is undefined'],
  ])('maps %s to its stable code', async (_what, error, code, message) => {
    const lines: string[] = [];
    const dispatch = createDispatcher(
      serviceThat(() => Promise.reject(error)),
      (line) => lines.push(line),
    );

    const result = await dispatch('session:get', {});

    expect(result).toEqual({ ok: false, error: { code, message } });
    // Only unexpected failures go to the log, with their detail.
    expect(lines.length).toBe(code === 'internal' ? 1 : 0);
  });
});
