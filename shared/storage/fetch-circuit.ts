/**
 * Fetches a circuit by URL (circuit.source: url) without letting a job reach what the pipeline
 * can reach: only allowed hosts, only public addresses (checked on the address actually
 * connected to, after DNS and on every redirect), a size cap while streaming, one deadline
 * for the whole fetch, and errors that never repeat what the server sent.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import * as http from 'node:http';
import * as https from 'node:https';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { InvalidInputError } from '../errors.ts';

/** Where circuits may be fetched from. */
export interface CircuitUrlPolicy {
  /** Allowed hosts: exact names, `*.example.com` for subdomains, or `*` for any host. */
  readonly hosts: readonly string[];
  /** Address ranges (CIDR) allowed although they are loopback, private, link-local or reserved. */
  readonly allowedRanges: readonly string[];
  /** Deadline of the whole fetch, redirects included. */
  readonly timeoutMs: number;
}

const MAX_REDIRECTS = 5;
const FIELD = 'spec.circuit.url';

/** Ranges no circuit is fetched from unless allowed: they reach the pipeline's own network or the cloud's metadata service. */
const NON_PUBLIC: ReadonlyArray<readonly [string, number, 'ipv4' | 'ipv6']> = [
  ['0.0.0.0', 8, 'ipv4'],
  ['10.0.0.0', 8, 'ipv4'],
  ['100.64.0.0', 10, 'ipv4'],
  ['127.0.0.0', 8, 'ipv4'],
  ['169.254.0.0', 16, 'ipv4'],
  ['172.16.0.0', 12, 'ipv4'],
  ['192.0.0.0', 24, 'ipv4'],
  ['192.168.0.0', 16, 'ipv4'],
  ['198.18.0.0', 15, 'ipv4'],
  ['224.0.0.0', 3, 'ipv4'],
  ['::', 128, 'ipv6'],
  ['::1', 128, 'ipv6'],
  ['64:ff9b::', 96, 'ipv6'],
  ['fc00::', 7, 'ipv6'],
  ['fe80::', 10, 'ipv6'],
  ['ff00::', 8, 'ipv6'],
];

function blockList(ranges: Iterable<readonly [string, number, 'ipv4' | 'ipv6']>): BlockList {
  const list = new BlockList();
  for (const [network, prefix, type] of ranges) list.addSubnet(network, prefix, type);
  return list;
}

const nonPublic = blockList(NON_PUBLIC);

function parseRange(range: string): readonly [string, number, 'ipv4' | 'ipv6'] {
  const [network = '', prefix] = range.split('/');
  const type = isIP(network);
  const bits = prefix === undefined ? (type === 6 ? 128 : 32) : Number(prefix);
  if (type === 0 || !Number.isInteger(bits) || bits < 0 || bits > (type === 6 ? 128 : 32)) {
    throw new InvalidInputError('QPIPE_CIRCUIT_URL_ALLOWED_RANGES', `"${range}" is not an address range (CIDR)`);
  }
  return [network, bits, type === 6 ? 'ipv6' : 'ipv4'];
}

/** The address as the block lists compare it: IPv4-mapped IPv6 (::ffff:a.b.c.d) as its IPv4 address. */
function normalised(address: string): { address: string; type: 'ipv4' | 'ipv6' } {
  const dotted = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (dotted) return { address: dotted[1] as string, type: 'ipv4' };
  const hex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(address);
  if (hex) {
    const [high, low] = [parseInt(hex[1] as string, 16), parseInt(hex[2] as string, 16)];
    return { address: `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`, type: 'ipv4' };
  }
  return { address, type: isIP(address) === 6 ? 'ipv6' : 'ipv4' };
}

function hostAllowed(host: string, hosts: readonly string[]): boolean {
  return hosts.some(
    (pattern) =>
      pattern === '*' ||
      pattern.toLowerCase() === host ||
      (pattern.startsWith('*.') && host.endsWith(pattern.slice(1).toLowerCase())),
  );
}

/** A fetcher for circuit URLs under `policy`; `maxBytes` caps the body as it streams in. */
export function createCircuitFetcher(policy: CircuitUrlPolicy): (url: string, maxBytes: number) => Promise<string> {
  const allowed = blockList(policy.allowedRanges.map(parseRange));

  const checkAddress = (address: string, host: string): void => {
    const { address: plain, type } = normalised(address);
    if (nonPublic.check(plain, type) && !allowed.check(plain, type)) {
      throw new InvalidInputError(
        FIELD,
        `${host} resolves to ${address}, a loopback, private, link-local or reserved address; ` +
          'circuits are fetched only from public addresses (QPIPE_CIRCUIT_URL_ALLOWED_RANGES allows others)',
      );
    }
  };

  // Checks every address DNS gives, as the connection is made, so a name cannot be resolved
  // once for the check and again (differently) for the connection.
  const guardedLookup: LookupFunction = (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (error, addresses: LookupAddress[]) => {
      if (error) return callback(error, '', 0);
      try {
        for (const { address } of addresses) checkAddress(address, hostname);
      } catch (refused) {
        return callback(refused as Error, '', 0);
      }
      if (options.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
      const first = addresses[0] as LookupAddress;
      return callback(null, first.address, first.family);
    });
  };

  return async (url, maxBytes) => {
    const signal = AbortSignal.timeout(policy.timeoutMs);
    let target = parseUrl(url);
    for (let redirects = 0; ; redirects++) {
      const host = target.hostname.replace(/^\[|\]$/g, '').toLowerCase();
      if (!hostAllowed(host, policy.hosts)) {
        throw new InvalidInputError(
          FIELD,
          policy.hosts.length === 0
            ? 'circuits by URL are not enabled here; an operator allows hosts with QPIPE_CIRCUIT_URL_HOSTS'
            : `${host} is not an allowed host (QPIPE_CIRCUIT_URL_HOSTS: ${policy.hosts.join(', ')})`,
        );
      }
      if (isIP(host) !== 0) checkAddress(host, host);
      const response = await request(target, guardedLookup, signal, url);
      const status = response.statusCode ?? 0;
      if (status >= 300 && status < 400 && response.headers.location !== undefined) {
        response.destroy();
        if (redirects === MAX_REDIRECTS) throw new InvalidInputError(FIELD, `more than ${MAX_REDIRECTS} redirects`);
        target = parseUrl(new URL(response.headers.location, target).href);
        continue;
      }
      if (status < 200 || status >= 300) {
        response.destroy();
        throw new InvalidInputError(FIELD, `fetching ${url} answered HTTP ${status}`);
      }
      return await readCapped(response, maxBytes, url, signal);
    }
  };
}

function parseUrl(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new InvalidInputError(FIELD, 'is not a URL');
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    throw new InvalidInputError(FIELD, `only http and https URLs are supported (got ${parsed.protocol})`);
  }
  if (parsed.username || parsed.password) throw new InvalidInputError(FIELD, 'a URL may not carry credentials');
  return parsed;
}

function request(target: URL, lookup: LookupFunction, signal: AbortSignal, url: string): Promise<http.IncomingMessage> {
  const client = target.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = client.get(target, { lookup, signal, agent: false, headers: { accept: 'text/plain, */*' } });
    req.once('response', resolve);
    req.once('error', (error: Error) => reject(fetchFailure(error, url, signal)));
  });
}

function fetchFailure(error: Error, url: string, signal: AbortSignal): Error {
  if (error instanceof InvalidInputError) return error;
  if (signal.aborted) return new InvalidInputError(FIELD, `fetching ${url} did not finish in time`);
  const code = (error as NodeJS.ErrnoException).code;
  return new InvalidInputError(FIELD, `could not fetch ${url} (${code ?? 'connection failed'})`);
}

async function readCapped(response: http.IncomingMessage, maxBytes: number, url: string, signal: AbortSignal) {
  const declared = Number(response.headers['content-length'] ?? 0);
  if (declared > maxBytes) {
    response.destroy();
    throw new InvalidInputError(FIELD, `the circuit is ${declared} bytes; the limit is ${maxBytes}`);
  }
  const chunks: Buffer[] = [];
  let length = 0;
  try {
    for await (const chunk of response as AsyncIterable<Buffer>) {
      length += chunk.length;
      if (length > maxBytes) {
        response.destroy();
        throw new InvalidInputError(FIELD, `the circuit is more than ${maxBytes} bytes; the limit is ${maxBytes}`);
      }
      chunks.push(chunk);
    }
  } catch (error) {
    throw fetchFailure(error as Error, url, signal);
  }
  // An aborted body can end like a finished one: only a complete message is a circuit, never a prefix.
  if (signal.aborted) throw new InvalidInputError(FIELD, `fetching ${url} did not finish in time`);
  if (!response.complete || (declared > 0 && length !== declared)) {
    throw new InvalidInputError(FIELD, `fetching ${url} ended before the whole circuit arrived`);
  }
  return Buffer.concat(chunks, length).toString('utf8');
}
