/**
 * The two protocol eras Gatehouse serves on one URL, side by side.
 *
 * - The handshake era (2025-11-25, 2025-06-18, 2025-03-26 and older): `initialize` opens a session,
 *   `Mcp-Session-Id` carries it, GET opens a listening stream and DELETE ends the session.
 * - The stateless era (2026-07-28): every request carries its protocol version and the client's
 *   capabilities in `params._meta`; there is no `initialize` and no session; `server/discover`
 *   says what the server is; `Mcp-Method`/`Mcp-Name` headers mirror the body; list and read
 *   results carry cache hints.
 *
 * The endpoint selects an era once per request with `selectEra` and lets the era object say
 * everything that differs. A stateless request goes through `STATELESS_STEPS`, an ordered list of
 * single checks (the order is the precedence: a request failing several gets the first one's error).
 */
import { GatehouseError } from '../errors/index.js';
import type { JsonRpcFailure, JsonRpcId, JsonRpcNotification, JsonRpcRequest } from './jsonrpc.js';
import {
  ALL_PROTOCOL_VERSIONS,
  isStatelessEraVersion,
  LOG_LEVELS,
  STATELESS_PROTOCOL_VERSION,
} from './protocol.js';

/** The reserved `_meta` keys of 2026-07-28 (requests and results). */
export const META_KEYS = {
  protocolVersion: 'io.modelcontextprotocol/protocolVersion',
  clientCapabilities: 'io.modelcontextprotocol/clientCapabilities',
  clientInfo: 'io.modelcontextprotocol/clientInfo',
  logLevel: 'io.modelcontextprotocol/logLevel',
  serverInfo: 'io.modelcontextprotocol/serverInfo',
  traceparent: 'traceparent',
} as const;

export interface Era {
  readonly name: 'handshake' | 'stateless';
  /** Whether initialize mints a session and Mcp-Session-Id is honoured. */
  readonly sessions: boolean;
  /** Whether GET (a listening stream) and DELETE (ending a session) exist. */
  readonly streams: boolean;
  /** The revisions of this era Gatehouse serves. */
  readonly versions: readonly string[];
  /** Methods the dispatcher serves that this era does not have (answered -32601). */
  readonly removedMethods: ReadonlySet<string>;
  /** Methods this era has that the endpoint answers itself, not the dispatcher. */
  readonly ownMethods: ReadonlySet<string>;
  /**
   * The HTTP status of a method-not-found answer. Every other JSON-RPC error a method's handler
   * (or an upstream) gives stays in band, HTTP 200, in both eras.
   */
  readonly methodNotFoundStatus: number;
  /** The result of `method` as this era writes it. */
  writeResult(method: string, result: unknown, serverMeta: Readonly<Record<string, unknown>>): unknown;
  /** The JSON-RPC error of a request as this era writes it. */
  writeError(
    params: Record<string, unknown> | undefined,
    error: JsonRpcFailure['error'],
  ): JsonRpcFailure['error'];
}

export const HANDSHAKE_ERA: Era = {
  name: 'handshake',
  sessions: true,
  streams: true,
  versions: ALL_PROTOCOL_VERSIONS.filter((version) => !isStatelessEraVersion(version)),
  removedMethods: new Set(),
  ownMethods: new Set(['logging/setLevel']),
  methodNotFoundStatus: 200,
  writeResult: (_method, result) => result,
  writeError: (_params, error) => error,
};

/**
 * How long a client may reuse a result, and whether a shared cache may (2026-07-28 caching).
 * Every list Gatehouse serves is filtered by the caller's roles and scopes, and a read resource
 * may be a user's own (notes), so all of them are private. Lists are short-lived: until
 * subscriptions/listen is served, a client learns of a changed list only by listing again.
 */
const CACHE_HINTS: Readonly<Record<string, { ttlMs: number; cacheScope: 'public' | 'private' }>> = {
  'tools/list': { ttlMs: 30_000, cacheScope: 'private' },
  'prompts/list': { ttlMs: 30_000, cacheScope: 'private' },
  'resources/list': { ttlMs: 30_000, cacheScope: 'private' },
  'resources/templates/list': { ttlMs: 30_000, cacheScope: 'private' },
  'resources/read': { ttlMs: 0, cacheScope: 'private' },
  // The same for every caller of this URL: no user's data in it.
  'server/discover': { ttlMs: 300_000, cacheScope: 'public' },
};

export const STATELESS_ERA: Era = {
  name: 'stateless',
  sessions: false,
  streams: false,
  versions: [STATELESS_PROTOCOL_VERSION],
  // The handshake, session-bound logging and resource subscriptions are gone in 2026-07-28.
  removedMethods: new Set([
    'initialize',
    'ping',
    'logging/setLevel',
    'resources/subscribe',
    'resources/unsubscribe',
  ]),
  ownMethods: new Set(['server/discover']),
  methodNotFoundStatus: 404,
  writeResult(method, result, serverMeta) {
    const source = result as Record<string, unknown>;
    const meta = source._meta as Record<string, unknown> | undefined;
    const withServer =
      meta === undefined
        ? serverMeta
        : meta[META_KEYS.serverInfo] === undefined
          ? { ...meta, ...serverMeta }
          : meta;
    const hint = CACHE_HINTS[method];
    // The common case (a tools/call result) as one literal: half the cost of a copy that then grows
    // property by property. Either way the result itself is not changed (a list may be shared).
    if (hint === undefined && source.resultType === undefined)
      return { resultType: 'complete', ...source, _meta: withServer };
    const written: Record<string, unknown> = { ...source, _meta: withServer };
    written.resultType ??= 'complete';
    if (hint !== undefined) {
      written.ttlMs ??= hint.ttlMs;
      written.cacheScope ??= hint.cacheScope;
    }
    return written;
  },
  writeError(params, error) {
    // A resource that does not exist is invalid params since 2026-07-28 (SEP-2164), naming the URI.
    if (error.code !== RESOURCE_NOT_FOUND_2025) return error;
    const data = error.data !== null && typeof error.data === 'object' ? error.data : {};
    return { ...error, code: -32602, data: { ...data, uri: params?.uri } };
  },
};

const RESOURCE_NOT_FOUND_2025 = -32002;

/**
 * The era of a request, from its MCP-Protocol-Version header and, when the header is absent or
 * names a handshake version, from its body: a `_meta` protocol version in the body claims the
 * stateless era (which then checks that the header agrees). Costs two property reads otherwise.
 */
export function selectEra(versionHeader: string | string[] | undefined, body: unknown): Era {
  if (typeof versionHeader === 'string' && isStatelessEraVersion(versionHeader)) return STATELESS_ERA;
  if (Array.isArray(body)) return body.some(claimsEnvelope) ? STATELESS_ERA : HANDSHAKE_ERA;
  return claimsEnvelope(body) ? STATELESS_ERA : HANDSHAKE_ERA;
}

/** The era of a request without a body (GET, DELETE): the header alone says. */
export function selectEraByHeader(versionHeader: string | string[] | undefined): Era {
  return typeof versionHeader === 'string' && isStatelessEraVersion(versionHeader)
    ? STATELESS_ERA
    : HANDSHAKE_ERA;
}

function claimsEnvelope(message: unknown): boolean {
  const meta = (message as { params?: { _meta?: unknown } } | null)?.params?._meta;
  return meta !== null && typeof meta === 'object' && META_KEYS.protocolVersion in meta;
}

/** What a stateless request carries besides its JSON-RPC message. */
export interface StatelessRequest {
  readonly kind: 'request' | 'notification';
  readonly message: JsonRpcRequest | JsonRpcNotification;
  /** The request's level for log messages (`_meta` logLevel); none are sent without one. */
  readonly logLevel: string | undefined;
  /** The capabilities the client declared on this request. */
  readonly clientCapabilities: Readonly<Record<string, unknown>>;
  /** W3C trace context the client sent in `_meta`, when well-formed. */
  readonly traceparent: string | undefined;
}

export interface StatelessHeaders {
  readonly version: string | undefined;
  readonly method: string | undefined;
  readonly name: string | undefined;
}

/** A rejection, with the id of the request it answers when the body had one. */
export interface StatelessRejection {
  readonly id: JsonRpcId | null;
  readonly error: GatehouseError;
}

interface StepInput {
  readonly headers: StatelessHeaders;
  readonly message: Record<string, unknown>;
  readonly isRequest: boolean;
  readonly meta: Record<string, unknown> | undefined;
}

type Step = (input: StepInput) => GatehouseError | undefined;

/**
 * What a 2026-07-28 POST goes through before dispatch, in order (the SDK's validation ladder):
 * the era claim and the envelope, then the headers against the body, then the revision, then the
 * headers every request must carry.
 */
const STATELESS_STEPS: readonly Step[] = [
  initializeNeedsHandshakeHeader,
  envelopePresent,
  envelopeWellFormed,
  versionHeaderAgrees,
  methodHeaderAgrees,
  revisionServed,
  versionHeaderPresent,
  methodHeaderPresent,
  nameHeaderAgrees,
];

/** Reads a stateless-era POST body: the message to dispatch, or the error to answer with. */
export function admitStateless(
  headers: StatelessHeaders,
  body: unknown,
): { admitted: StatelessRequest } | { rejected: StatelessRejection } {
  if (Array.isArray(body)) {
    return reject(
      null,
      new GatehouseError(
        'GH_MCP_BATCH_UNSUPPORTED',
        'JSON-RPC batches cannot carry MCP 2026-07-28 requests: send each request in its own POST.',
      ),
    );
  }
  if (body === null || typeof body !== 'object') {
    return reject(null, invalidRequest('the body must be one JSON-RPC request object'));
  }
  const message = body as Record<string, unknown>;
  const id = readableId(message);
  if (message.jsonrpc !== '2.0')
    return reject(id, invalidRequest('the "jsonrpc" member must be exactly "2.0"'));
  if (typeof message.method !== 'string' || message.method === '') {
    return reject(
      id,
      invalidRequest(
        'result' in message || 'error' in message
          ? 'MCP 2026-07-28 has no server-to-client requests, so there is no response to post'
          : 'the "method" member must be a non-empty string',
      ),
    );
  }
  const params = message.params;
  if (params !== undefined && (params === null || typeof params !== 'object' || Array.isArray(params))) {
    return reject(id, invalidRequest('the "params" member must be an object when present'));
  }
  const isRequest = 'id' in message;
  if (isRequest && id === null) {
    return reject(null, invalidRequest('the "id" member must be a string or an integer'));
  }
  const rawMeta = (params as { _meta?: unknown } | undefined)?._meta;
  const meta =
    rawMeta !== null && typeof rawMeta === 'object' && !Array.isArray(rawMeta)
      ? (rawMeta as Record<string, unknown>)
      : undefined;
  const input: StepInput = { headers, message, isRequest, meta };
  for (const step of isRequest ? STATELESS_STEPS : NOTIFICATION_STEPS) {
    const error = step(input);
    if (error !== undefined) return reject(id, error);
  }
  const logLevel = meta?.[META_KEYS.logLevel];
  const traceparent = meta?.[META_KEYS.traceparent];
  return {
    admitted: {
      kind: isRequest ? 'request' : 'notification',
      message: message as unknown as JsonRpcRequest,
      logLevel: typeof logLevel === 'string' ? logLevel : undefined,
      clientCapabilities: (meta?.[META_KEYS.clientCapabilities] as Record<string, unknown> | undefined) ?? {},
      traceparent: typeof traceparent === 'string' && TRACEPARENT.test(traceparent) ? traceparent : undefined,
    },
  };
}

/** A notification needs no envelope of its own; its headers still may not contradict its body. */
const NOTIFICATION_STEPS: readonly Step[] = [envelopeWellFormed, versionHeaderAgrees, methodHeaderAgrees];

const TRACEPARENT = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;

function reject(id: JsonRpcId | null, error: GatehouseError): { rejected: StatelessRejection } {
  return { rejected: { id, error } };
}

function readableId(message: Record<string, unknown>): JsonRpcId | null {
  const id = message.id;
  return typeof id === 'string' || (typeof id === 'number' && Number.isInteger(id)) ? id : null;
}

function invalidRequest(reason: string): GatehouseError {
  return new GatehouseError('GH_MCP_INVALID_REQUEST', `Invalid JSON-RPC request: ${reason}.`);
}

function headerMismatch(header: string, body: string, message: string): GatehouseError {
  return new GatehouseError('GH_MCP_HEADER_MISMATCH', message, { data: { mismatch: { header, body } } });
}

function claimedVersion(input: StepInput): string | undefined {
  const version = input.meta?.[META_KEYS.protocolVersion];
  return typeof version === 'string' ? version : undefined;
}

/** initialize belongs to the handshake era; sent with a 2026-07-28 header, the two disagree. */
function initializeNeedsHandshakeHeader(input: StepInput): GatehouseError | undefined {
  if (input.message.method !== 'initialize' || input.meta?.[META_KEYS.protocolVersion] !== undefined) return;
  const version = input.headers.version ?? '(missing)';
  return headerMismatch(
    version,
    'initialize',
    `initialize opens a session of the handshake era, but MCP-Protocol-Version is ${version}: send initialize with a 2025 version, or send your requests with a params._meta envelope and no initialize.`,
  );
}

/** A 2026-07-28 request names its version in params._meta; without it, say what is missing. */
function envelopePresent(input: StepInput): GatehouseError | undefined {
  if (input.meta?.[META_KEYS.protocolVersion] !== undefined) return;
  const version = input.headers.version;
  // A header naming a revision Gatehouse does not serve is answered with what it serves.
  if (version !== undefined && !STATELESS_ERA.versions.includes(version)) return unsupportedRevision(version);
  const missing =
    input.meta === undefined
      ? ['_meta']
      : [META_KEYS.protocolVersion, META_KEYS.clientCapabilities].filter(
          (key) => !(key in (input.meta ?? {})),
        );
  return new GatehouseError(
    'GH_MCP_ENVELOPE_INVALID',
    `MCP-Protocol-Version ${version} needs params._meta with ${META_KEYS.protocolVersion} and ${META_KEYS.clientCapabilities} on every request; missing: ${missing.join(', ')}.`,
    { data: { envelope: { missing } } },
  );
}

function envelopeWellFormed(input: StepInput): GatehouseError | undefined {
  const meta = input.meta;
  if (meta === undefined || !(META_KEYS.protocolVersion in meta)) return;
  const problem = envelopeProblem(meta);
  if (problem === undefined) return;
  return new GatehouseError(
    'GH_MCP_ENVELOPE_INVALID',
    `params._meta is not a valid 2026-07-28 envelope: ${problem.key} ${problem.problem}.`,
    { data: { envelope: problem } },
  );
}

function envelopeProblem(meta: Record<string, unknown>): { key: string; problem: string } | undefined {
  if (typeof meta[META_KEYS.protocolVersion] !== 'string') {
    return { key: META_KEYS.protocolVersion, problem: 'must be a protocol version string' };
  }
  const capabilities = meta[META_KEYS.clientCapabilities];
  if (capabilities === undefined) return { key: META_KEYS.clientCapabilities, problem: 'is missing' };
  if (!isPlainObject(capabilities)) {
    return { key: META_KEYS.clientCapabilities, problem: 'must be an object of capabilities ({} for none)' };
  }
  const clientInfo = meta[META_KEYS.clientInfo];
  if (
    clientInfo !== undefined &&
    (!isPlainObject(clientInfo) ||
      typeof clientInfo.name !== 'string' ||
      typeof clientInfo.version !== 'string')
  ) {
    return { key: META_KEYS.clientInfo, problem: 'must be an object with string name and version' };
  }
  const logLevel = meta[META_KEYS.logLevel];
  if (logLevel !== undefined && (typeof logLevel !== 'string' || !LOG_LEVELS.includes(logLevel))) {
    return { key: META_KEYS.logLevel, problem: `must be one of ${LOG_LEVELS.join(', ')}` };
  }
  const progressToken = meta.progressToken;
  if (progressToken !== undefined && typeof progressToken !== 'string' && typeof progressToken !== 'number') {
    return { key: 'progressToken', problem: 'must be a string or a number' };
  }
  return undefined;
}

function versionHeaderAgrees(input: StepInput): GatehouseError | undefined {
  const header = input.headers.version;
  const claimed = claimedVersion(input);
  if (header === undefined || claimed === undefined || header === claimed) return;
  return headerMismatch(
    header,
    claimed,
    `MCP-Protocol-Version is ${header} but params._meta names ${claimed}: send the same version in both.`,
  );
}

function methodHeaderAgrees(input: StepInput): GatehouseError | undefined {
  const header = input.headers.method;
  const method = input.message.method as string;
  if (header === undefined || header === method) return;
  return headerMismatch(
    header,
    method,
    `Mcp-Method is ${header} but the body's method is ${method}: send the same in both.`,
  );
}

function revisionServed(input: StepInput): GatehouseError | undefined {
  const claimed = claimedVersion(input);
  if (claimed === undefined || STATELESS_ERA.versions.includes(claimed)) return;
  return unsupportedRevision(claimed);
}

function unsupportedRevision(requested: string): GatehouseError {
  return new GatehouseError(
    'GH_MCP_REVISION_UNSUPPORTED',
    `Unsupported protocol version: ${requested}. Gatehouse serves ${ALL_PROTOCOL_VERSIONS.join(', ')} (2025 versions through initialize).`,
    { data: { supported: [...ALL_PROTOCOL_VERSIONS], requested } },
  );
}

function versionHeaderPresent(input: StepInput): GatehouseError | undefined {
  if (input.headers.version !== undefined) return;
  return headerMismatch(
    '(missing)',
    claimedVersion(input) ?? '',
    `The MCP-Protocol-Version header is missing: send MCP-Protocol-Version: ${claimedVersion(input)} with the request, as its params._meta names.`,
  );
}

function methodHeaderPresent(input: StepInput): GatehouseError | undefined {
  if (input.headers.method !== undefined) return;
  const method = input.message.method as string;
  return headerMismatch(
    '(missing)',
    method,
    `The Mcp-Method header is missing: send Mcp-Method: ${method} with the request (MCP 2026-07-28 requires it).`,
  );
}

/** Which body field the Mcp-Name header mirrors, per method. */
const NAME_SOURCE: Readonly<Record<string, 'name' | 'uri'>> = {
  'tools/call': 'name',
  'prompts/get': 'name',
  'resources/read': 'uri',
};

function nameHeaderAgrees(input: StepInput): GatehouseError | undefined {
  const method = input.message.method as string;
  const field = Object.hasOwn(NAME_SOURCE, method) ? NAME_SOURCE[method] : undefined;
  if (field === undefined) return;
  const value = (input.message.params as Record<string, unknown> | undefined)?.[field];
  if (typeof value !== 'string') return;
  const header = input.headers.name;
  if (header === undefined) {
    return headerMismatch(
      '(missing)',
      value,
      `The Mcp-Name header is missing: a ${method} request sends Mcp-Name with its params.${field} (${value}).`,
    );
  }
  const decoded = decodeHeaderValue(header);
  if (decoded === undefined) {
    return headerMismatch(
      header,
      value,
      'The Mcp-Name header is not valid: its =?base64?…?= value is not Base64.',
    );
  }
  if (decoded === value) return;
  return headerMismatch(
    header,
    value,
    `Mcp-Name is ${decoded} but params.${field} is ${value}: send the same in both.`,
  );
}

const BASE64_PREFIX = '=?base64?';
const BASE64_SUFFIX = '?=';
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** A header value as sent, or decoded from the `=?base64?…?=` form used for values HTTP cannot carry. */
function decodeHeaderValue(value: string): string | undefined {
  if (!value.startsWith(BASE64_PREFIX) || !value.endsWith(BASE64_SUFFIX)) return value;
  const encoded = value.slice(BASE64_PREFIX.length, value.length - BASE64_SUFFIX.length);
  if (!BASE64.test(encoded)) return undefined;
  return Buffer.from(encoded, 'base64').toString('utf8');
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** The `server/discover` result: what Gatehouse is, before any other request. */
export function discoverResult(
  description: { capabilities: Record<string, unknown>; instructions: string },
  serves: (method: string) => boolean,
): Record<string, unknown> {
  const capabilities = statelessCapabilities(description.capabilities);
  // A client may rely on what discover says: every method answered has its capability declared.
  for (const [method, capability] of CAPABILITY_OF_METHOD) {
    if (serves(method) && capabilities[capability] === undefined) capabilities[capability] = {};
  }
  return {
    supportedVersions: [...ALL_PROTOCOL_VERSIONS],
    capabilities,
    instructions: description.instructions,
  };
}

const CAPABILITY_OF_METHOD: ReadonlyArray<readonly [string, string]> = [
  ['tools/list', 'tools'],
  ['prompts/list', 'prompts'],
  ['resources/list', 'resources'],
  ['completion/complete', 'completions'],
];

/**
 * The capabilities as the stateless era has them: list changes are announced only on a
 * subscriptions/listen stream, which Gatehouse does not serve yet, and resource subscriptions
 * are gone, so neither is advertised.
 */
function statelessCapabilities(capabilities: Record<string, unknown>): Record<string, unknown> {
  const written: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(capabilities)) {
    if (!isPlainObject(value)) {
      written[name] = value;
      continue;
    }
    const { listChanged: _listChanged, subscribe: _subscribe, ...rest } = value;
    written[name] = rest;
  }
  return written;
}
