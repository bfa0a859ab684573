/**
 * Errors across every wire, in one place (docs/errors.md "On the wire"): the node API and the control
 * socket answer `{code, message}`, the web UI `{error: {code, message}}`, each with the HTTP status of
 * the code; typed extra fields ride along (`retryAfter`, also sent as the Retry-After header). A body
 * read back becomes the same ArozError; a code this version does not know never becomes a code here.
 */
import { ArozError, ERROR_CODES, type ErrorCode, isProgrammingError } from './errors.ts';

/** What an error says on the wire. */
export interface WireError {
  code: ErrorCode;
  message: string;
  /** Seconds to wait before trying again (ERR_WEB_RATE_LIMITED). */
  retryAfter?: number;
}

export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.hasOwn(ERROR_CODES, code);
}

/** An ArozError as it is; anything else as ERR_INTERNAL with `message` (the cause is not sent). */
export function knownError(err: unknown, message: string): ArozError {
  return err instanceof ArozError ? err : new ArozError('ERR_INTERNAL', message, { cause: err });
}

/** The status, body and headers that answer `err`; `wrap` gives the web UI's `{error: …}`. */
export function encodeError(
  err: ArozError,
  options: { wrap?: boolean } = {},
): { status: number; body: unknown; headers: Record<string, string> } {
  const body: WireError = { code: err.code, message: err.message };
  const headers: Record<string, string> = {};
  if (err.retryAfter !== undefined) headers['retry-after'] = String(err.retryAfter);
  return { status: err.status, body: options.wrap === true ? { error: body } : body, headers };
}

/**
 * Reads an error body (`{code, message}`, or the web UI's `{error: {…}}`): the code when this version
 * knows it, and the message.
 */
export function decodeError(value: unknown): { code: ErrorCode | undefined; message: string | undefined } {
  const outer = typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
  const inner = typeof outer['error'] === 'object' && outer['error'] !== null ? outer['error'] : outer;
  const { code, message } = inner as { code?: unknown; message?: unknown };
  return {
    code: isErrorCode(code) ? code : undefined,
    message: typeof message === 'string' ? message : undefined,
  };
}

/** Parses a body's text as JSON for decodeError; not JSON is no body. */
export function parseErrorText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    if (isProgrammingError(err) && !(err instanceof SyntaxError)) throw err;
    return undefined;
  }
}
