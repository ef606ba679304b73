// Errors the suite reports as one line and a distinct exit code, never as a stack trace:
// a CI gate must be able to tell "the deployment is broken" from "the suite was pointed at
// the wrong place".
import * as k8s from '@kubernetes/client-node';

export const ExitCode = {
  ok: 0,
  checksFailed: 1,
  usage: 2,
  kubeconfigMissing: 3,
  toolMissing: 3,
  contextInvalid: 4,
  clusterUnreachable: 5,
  namespaceMissing: 6,
  releaseMissing: 7,
  forbidden: 8,
  internal: 9,
} as const;

export type ExitCodeName = keyof typeof ExitCode;

export class InputError extends Error {
  constructor(
    readonly kind: Exclude<ExitCodeName, 'ok' | 'checksFailed'>,
    message: string,
  ) {
    super(message);
    this.name = 'InputError';
  }

  get exitCode(): number {
    return ExitCode[this.kind];
  }
}

/** The HTTP status of a Kubernetes API failure, or undefined when the call never got an answer. */
export function apiStatus(error: unknown): number | undefined {
  if (error instanceof k8s.ApiException) return error.code;
  if (typeof error === 'object' && error !== null && 'code' in error) {
    const code = (error as { code: unknown }).code;
    if (typeof code === 'number' && code >= 100 && code < 600) return code;
  }
  return undefined;
}

export const isNotFound = (error: unknown): boolean => apiStatus(error) === 404;
export const isForbidden = (error: unknown): boolean => apiStatus(error) === 403;
export const isUnauthorized = (error: unknown): boolean => apiStatus(error) === 401;

const networkCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_SOCKET',
  'CERT_HAS_EXPIRED',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
]);

/** The system error code (ECONNREFUSED, ...) anywhere in an error's cause chain. */
export function networkErrorCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 6 && current; depth += 1) {
    if (typeof current === 'object' && current !== null) {
      const { code, errno, type } = current as { code?: unknown; errno?: unknown; type?: unknown };
      for (const candidate of [code, errno]) {
        if (typeof candidate === 'string' && networkCodes.has(candidate)) return candidate;
      }
      if (type === 'system' && typeof code === 'string') return code;
      if (current instanceof AggregateError && current.errors.length > 0) {
        const inner = networkErrorCode(current.errors[0]);
        if (inner) return inner;
      }
      current = (current as { cause?: unknown }).cause;
    } else {
      break;
    }
  }
  return undefined;
}

/** One line for any error: the message without the stack. */
export function oneLine(error: unknown): string {
  if (error instanceof k8s.ApiException) {
    const body = error.body as { message?: unknown } | string | undefined;
    const detail = typeof body === 'object' && body && typeof body.message === 'string' ? body.message : '';
    return `HTTP ${error.code}${detail ? `: ${detail}` : ''}`;
  }
  // WebSocket failures (port-forward) arrive as ErrorEvent objects, not Errors.
  const message =
    error instanceof Error
      ? error.message
      : typeof error === 'object' && error !== null && typeof (error as { message?: unknown }).message === 'string'
        ? (error as { message: string }).message
        : typeof error === 'object' && error !== null
          ? JSON.stringify(error).slice(0, 300)
          : String(error);
  const code = networkErrorCode(error);
  const first = message.split('\n')[0] ?? message;
  return code && !first.includes(code) ? `${first} (${code})` : first;
}

/**
 * How a command ends on an error: one line on stderr and the exit code of the table above.
 * InputErrors are the user's to fix and say how; anything else is the suite's fault (9).
 */
export function fatal(error: unknown): { line: string; code: number } {
  if (error instanceof InputError) return { line: `error: ${error.message}`, code: error.exitCode };
  return { line: `internal error: ${oneLine(error)}`, code: ExitCode.internal };
}

/** Runs a command's main and exits with its code, or with the one line and code of `fatal`. */
export function endCommand(main: Promise<number>): void {
  main.then(
    (code) => process.exit(code),
    (error: unknown) => {
      const { line, code } = fatal(error);
      process.stderr.write(`${line}\n`);
      process.exit(code);
    },
  );
}
