/**
 * IBM Quantum's REST API: an IAM API key exchanged for a bearer token (cached until it
 * expires), the Service-CRN of the instance on every call, and the platform's limit of
 * five job submissions a minute kept on this side.
 * https://quantum.cloud.ibm.com/docs/en/guides/cloud-setup-rest-api
 */
import type { Static, TSchema } from '@sinclair/typebox';
import { QpipeError, TransientError } from '../../errors.ts';
import { checkSchema } from '../../resources/validate.ts';
import { IamToken } from './responses.ts';

/** Settings of the IBM client. */
export interface IbmSettings {
  readonly apiKey: string;
  readonly serviceCrn: string;
  /** API root, e.g. https://quantum.cloud.ibm.com/api */
  readonly apiUrl: string;
  /** IAM root, e.g. https://iam.cloud.ibm.com */
  readonly iamUrl: string;
  readonly fetch?: typeof fetch;
  readonly now?: () => number;
}

/** The API version every request asks for. */
export const IBM_API_VERSION = '2025-05-01';
/** Job submissions IBM accepts per minute and instance. */
export const JOBS_PER_MINUTE = 5;
/** A call that takes longer fails as transient (the bus retries it). */
const REQUEST_TIMEOUT_MS = 10_000;
/** The longest a submission waits here for a free slot before handing the event back to the bus. */
const MAX_SLOT_WAIT_MS = 3_000;

/** An HTTP answer IBM gave that is not a success. */
export class IbmHttpError extends QpipeError {
  readonly status: number;
  constructor(status: number, message: string, retryable: boolean) {
    super(message, { retryable });
    this.status = status;
  }
}

/** A REST client for one IBM Quantum instance. */
export class IbmClient {
  private token: { value: string; expiresAt: number } | undefined;
  private readonly submissions: number[] = [];
  private readonly fetch: typeof fetch;
  private readonly now: () => number;

  constructor(private readonly settings: IbmSettings) {
    this.fetch = settings.fetch ?? globalThis.fetch;
    this.now = settings.now ?? Date.now;
  }

  /** A bearer token, exchanged anew a minute before the cached one expires. */
  private async bearer(): Promise<string> {
    if (this.token && this.token.expiresAt - 60_000 > this.now()) return this.token.value;
    const response = await this.fetch(`${this.settings.iamUrl.replace(/\/+$/, '')}/identity/token`, {
      method: 'POST',
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
      body: new URLSearchParams({
        grant_type: 'urn:ibm:params:oauth:grant-type:apikey',
        apikey: this.settings.apiKey,
      }).toString(),
    });
    if (!response.ok) {
      // Never echo the key; IAM's own message says what is wrong with it.
      const text = await response.text();
      throw new IbmHttpError(
        response.status,
        `IBM IAM token exchange failed (${response.status}): ${text.slice(0, 200)}`,
        response.status >= 500 || response.status === 429,
      );
    }
    const body = checkSchema(IamToken, await response.json(), 'IBM IAM token exchange answer');
    const expiresAt = body.expiration ? body.expiration * 1000 : this.now() + (body.expires_in ?? 3600) * 1000;
    this.token = { value: body.access_token, expiresAt };
    return body.access_token;
  }

  /** One JSON request to the API, its answer parsed against `schema`; 401 refreshes the token once. */
  async request<S extends TSchema>(
    method: 'GET' | 'POST' | 'DELETE',
    path: string,
    schema: S,
    body?: unknown,
  ): Promise<Static<S>> {
    const text = await this.send(method, path, body);
    return checkSchema(schema, text === '' ? undefined : JSON.parse(text), `IBM Quantum's answer to ${method} ${path}`);
  }

  /** One request to the API; resolves to the answer's text (empty for 204). */
  async send(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<string> {
    for (let attempt = 0; ; attempt++) {
      const response = await this.fetch(`${this.settings.apiUrl.replace(/\/+$/, '')}${path}`, {
        method,
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
        headers: {
          Authorization: `Bearer ${await this.bearer()}`,
          'Service-CRN': this.settings.serviceCrn,
          'IBM-API-Version': IBM_API_VERSION,
          Accept: 'application/json',
          ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      if (response.status === 401 && attempt === 0) {
        this.token = undefined;
        continue;
      }
      if (!response.ok) {
        const text = await response.text();
        const retryable = response.status === 429 || response.status >= 500;
        throw new IbmHttpError(
          response.status,
          `IBM Quantum ${method} ${path}: ${response.status} ${text.slice(0, 300)}`,
          retryable,
        );
      }
      // Closing a session answers 204 with no body.
      return response.text();
    }
  }

  /**
   * Takes one of the five submission slots of the last minute, waiting a few seconds for
   * one at most; beyond that the event goes back to the bus, which retries with backoff.
   */
  async submissionSlot(): Promise<void> {
    const windowStart = () => this.now() - 60_000;
    while (this.submissions.length > 0 && (this.submissions[0] as number) <= windowStart()) this.submissions.shift();
    if (this.submissions.length >= JOBS_PER_MINUTE) {
      const wait = (this.submissions[0] as number) + 60_000 - this.now();
      if (wait > MAX_SLOT_WAIT_MS) {
        throw new TransientError(
          `IBM Quantum accepts ${JOBS_PER_MINUTE} jobs a minute; the next slot opens in ${Math.ceil(wait / 1000)} s`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, wait));
      this.submissions.shift();
    }
    this.submissions.push(this.now());
  }
}
