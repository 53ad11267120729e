/**
 * Errors raised by the app service itself, and the one mapping from any
 * error to the contract's `{ code, message }`.
 */
import type { ContractError, ErrorCode } from '../../shared/contract.ts';
import {
  isCancellation,
  toErrorCode,
  toUserMessage,
} from '../engine/errors.ts';

/**
 * ServiceError is an expected refusal of the app service (not signed in, no
 * such plan, not available in this mode...). Its `code` crosses the boundary
 * unchanged and its `message` is shown to the user as it is.
 */
export class ServiceError extends Error {
  override readonly name = 'ServiceError';
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

/**
 * toContractError turns anything a handler threw into the envelope's error:
 * ServiceError keeps its code, engine errors get the engine's stable code,
 * a cancellation is 'internal' with the message "Cancelled.", anything else
 * is 'internal'. The message never holds a stack trace.
 */
export function toContractError(err: unknown): ContractError {
  if (err instanceof ServiceError) {
    return { code: err.code, message: err.message };
  }
  if (isCancellation(err)) return { code: 'internal', message: 'Cancelled.' };
  return { code: toErrorCode(err), message: toUserMessage(err) };
}
