/**
 * The root of qpipe's error tree. Every error says whether retrying can help, so the
 * runtime adapters map it to an outcome (rejected event, HTTP status, Lambda failure)
 * in one place without string matching.
 */
export class QpipeError extends Error {
  /** True when the same input may succeed later (a transient fault), false when it never will. */
  readonly retryable: boolean;

  constructor(message: string, options: { retryable?: boolean; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.retryable = options.retryable ?? false;
  }
}

/** Input that can never succeed: a bad manifest, circuit or event. Not retryable. */
export class InvalidInputError extends QpipeError {
  /** Where the problem is: a field path such as `spec.execution.shots`, or `line:column`. */
  readonly where: string;

  constructor(where: string, message: string, options: { cause?: unknown } = {}) {
    super(where ? `${where}: ${message}` : message, { retryable: false, ...options });
    this.where = where;
  }
}

/** A configuration setting is missing or malformed; the message names the setting. */
export class ConfigError extends QpipeError {
  /** The environment variable or flag at fault. */
  readonly setting: string;

  constructor(setting: string, message: string) {
    super(`${setting}: ${message}`);
    this.setting = setting;
  }
}

/** Work ran past the time its runtime allows and was stopped; the same input would run as long again. */
export class TimeLimitError extends QpipeError {
  constructor(message: string) {
    super(message, { retryable: false });
  }
}

/** A resource limit (qubits, bytes, gates, shots, memory) was exceeded. */
export class LimitExceededError extends InvalidInputError {}

/** Type guard for any qpipe error. */
export function isQpipeError(error: unknown): error is QpipeError {
  return error instanceof QpipeError;
}

/** Whether an error may succeed on retry; unknown errors are assumed transient. */
export function isRetryable(error: unknown): boolean {
  return isQpipeError(error) ? error.retryable : true;
}
