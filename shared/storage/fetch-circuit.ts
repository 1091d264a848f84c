/** Fetches a circuit by URL (circuit.source: url) with a size limit and a timeout. */
import { InvalidInputError, QpipeError } from '../errors.ts';

/** Downloads at most `maxBytes` of text from an http(s) URL within `timeoutMs`. */
export async function fetchCircuit(url: string, maxBytes: number, timeoutMs = 10_000): Promise<string> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new InvalidInputError('spec.circuit.url', `"${url}" is not a URL`);
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    throw new InvalidInputError('spec.circuit.url', `only http and https URLs are supported (got ${parsed.protocol})`);
  }
  let response: Response;
  try {
    response = await fetch(parsed, { signal: AbortSignal.timeout(timeoutMs), redirect: 'follow' });
  } catch (cause) {
    throw new QpipeError(`could not fetch ${url}: ${(cause as Error).message}`, { retryable: true, cause });
  }
  if (!response.ok) {
    throw new QpipeError(`fetching ${url} answered HTTP ${response.status}`, { retryable: response.status >= 500 });
  }
  const declared = Number(response.headers.get('content-length') ?? '0');
  if (declared > maxBytes)
    throw new InvalidInputError('spec.circuit.url', `the circuit is ${declared} bytes; the limit is ${maxBytes}`);
  const body = new Uint8Array(await response.arrayBuffer());
  if (body.byteLength > maxBytes) {
    throw new InvalidInputError(
      'spec.circuit.url',
      `the circuit is ${body.byteLength} bytes; the limit is ${maxBytes}`,
    );
  }
  return new TextDecoder().decode(body);
}
