/**
 * Calling the bridge from stores and components: unwraps the `Result`
 * envelope so callers handle one error type.
 */
import type {
  Bridge,
  Channel,
  ContractError,
  ErrorCode,
  RequestOf,
  ResponseOf,
} from '../../../shared/contract.ts';

/** BridgeCallError carries the `{code, message}` of a failed channel call. */
export class BridgeCallError extends Error {
  readonly code: ErrorCode;
  readonly channel: Channel;

  constructor(channel: Channel, error: ContractError) {
    super(error.message);
    this.name = 'BridgeCallError';
    this.code = error.code;
    this.channel = channel;
  }

  /** toContractError returns the plain envelope, for storing in state. */
  toContractError(): ContractError {
    return { code: this.code, message: this.message };
  }
}

/**
 * call invokes a channel and resolves with its value. It rejects with a
 * {@link BridgeCallError} when the result is `{ok: false}`, and also when
 * the bridge itself throws or answers with something that is not a Result
 * (code `internal`), so callers never see other error types.
 */
export async function call<C extends Channel>(
  bridge: Bridge,
  channel: C,
  request: RequestOf<C>,
): Promise<ResponseOf<C>> {
  let result: unknown;
  try {
    result = await bridge.invoke(channel, request);
  } catch (err) {
    throw new BridgeCallError(channel, {
      code: 'internal',
      message: `The app could not reach its engine for "${channel}": ${errorText(err)}`,
    });
  }
  if (!isResult(result)) {
    throw new BridgeCallError(channel, {
      code: 'internal',
      message: `The engine answered "${channel}" with something that is not a result.`,
    });
  }
  if (!result.ok) {
    throw new BridgeCallError(channel, result.error);
  }
  return result.value as ResponseOf<C>;
}

/**
 * toContractError turns anything caught into a `{code, message}` envelope;
 * errors that did not come from the bridge become code `internal`.
 */
export function toContractError(err: unknown): ContractError {
  if (err instanceof BridgeCallError) {
    return err.toContractError();
  }
  return { code: 'internal', message: errorText(err) };
}

/** errorText renders an unknown thrown value as one line of text. */
export function errorText(err: unknown): string {
  if (err instanceof Error) {
    return err.message || err.name;
  }
  if (typeof err === 'string') {
    return err;
  }
  try {
    return JSON.stringify(err) ?? String(err);
  } catch {
    return String(err);
  }
}

function isResult(
  value: unknown,
): value is { ok: true; value: unknown } | { ok: false; error: ContractError } {
  if (typeof value !== 'object' || value === null || !('ok' in value)) {
    return false;
  }
  if (value.ok === true) {
    return true;
  }
  if (value.ok !== false || !('error' in value)) {
    return false;
  }
  const error = value.error;
  return (
    typeof error === 'object' &&
    error !== null &&
    'code' in error &&
    'message' in error &&
    typeof error.code === 'string' &&
    typeof error.message === 'string'
  );
}

/** Short explanation shown beside an error code, for codes that need one. */
const HINTS: Partial<Record<ErrorCode, string>> = {
  network: 'Check the connection to the server and try again.',
  'session-expired': 'Sign in again to continue.',
  'not-signed-in': 'Sign in to continue.',
  maintenance: 'The platform is under maintenance; try again later.',
  'bad-credentials': 'Check the email and password, or the API key.',
};

/** errorHint returns an extra sentence for a code, or null. */
export function errorHint(code: ErrorCode): string | null {
  return HINTS[code] ?? null;
}
