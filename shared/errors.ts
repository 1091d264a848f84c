/**
 * The root of qpipe's error tree. Every error says whether retrying can help, so the
 * runtime maps it to an outcome (rejected or failed event, retry) in one place,
 * shared/runtime/outcomes.ts, without string matching. Its two branches:
 * PermanentError (bad input, a limit, a budget, a provider's failed task) and
 * TransientError (contention, a service briefly unavailable). Errors classified by a
 * provider's status code (IbmHttpError, StorageAccessError) set the flag themselves.
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

/** Will never succeed as it is: the job is rejected (before approval) or failed (after). */
export class PermanentError extends QpipeError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { ...options, retryable: false });
  }
}

/** May succeed later (contention, a service briefly unavailable): the bus delivers the event again. */
export class TransientError extends QpipeError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { ...options, retryable: true });
  }
}

/** Input that can never succeed: a bad manifest, circuit or event. */
export class InvalidInputError extends PermanentError {
  /** Where the problem is: a field path such as `spec.execution.shots`, or `line:column`. */
  readonly where: string;

  constructor(where: string, message: string, options: { cause?: unknown } = {}) {
    super(where ? `${where}: ${message}` : message, options);
    this.where = where;
  }
}

/** A configuration setting is missing or malformed; the message names the setting. */
export class ConfigError extends PermanentError {
  /** The environment variable or flag at fault. */
  readonly setting: string;

  constructor(setting: string, message: string) {
    super(`${setting}: ${message}`);
    this.setting = setting;
  }
}

/** Work ran past the time its runtime allows and was stopped; the same input would run as long again. */
export class TimeLimitError extends PermanentError {}

/** The provider ran the task and reports it failed or cancelled (the reason in its words): this run is over. */
export class ProviderTaskFailedError extends PermanentError {
  constructor(
    readonly taskId: string,
    reason: string,
    /** What the provider still bills for the task (a cancelled task that ran), in micro-dollars. */
    readonly actualCostMicros = 0,
  ) {
    super(reason);
  }
}

/** A resource limit (qubits, bytes, gates, shots, memory) was exceeded. */
export class LimitExceededError extends InvalidInputError {}

/** Type guard for any qpipe error. */
export function isQpipeError(error: unknown): error is QpipeError {
  return error instanceof QpipeError;
}

/** A thrown value as an Error: a value thrown that is not one is wrapped, described as JSON. */
export function asError(thrown: unknown): Error {
  return thrown instanceof Error ? thrown : new Error(`a non-Error was thrown: ${JSON.stringify(thrown)}`);
}
