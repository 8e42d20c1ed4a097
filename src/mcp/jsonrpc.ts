/**
 * JSON-RPC 2.0 framing for the MCP endpoint: a fast structural check of incoming messages and the
 * builders for outgoing ones. Parsing is hand-written because it runs on every request.
 */
import { ERROR_CATALOGUE, GatehouseError } from '../errors/index.js';

export type JsonRpcId = string | number;

export interface JsonRpcRequest {
  jsonrpc: '2.0';
  id: JsonRpcId;
  method: string;
  params?: Record<string, unknown>;
}

export interface JsonRpcNotification {
  jsonrpc: '2.0';
  method: string;
  params?: Record<string, unknown>;
}

export type IncomingMessage =
  | { kind: 'request'; message: JsonRpcRequest }
  | { kind: 'notification'; message: JsonRpcNotification }
  /** A response to a request Gatehouse sent the client (relayed from an upstream). */
  | { kind: 'response'; message: JsonRpcResponse }
  | { kind: 'invalid'; id: JsonRpcId | null; error: GatehouseError };

export interface JsonRpcSuccess {
  jsonrpc: '2.0';
  id: JsonRpcId;
  result: unknown;
}

export interface JsonRpcFailure {
  jsonrpc: '2.0';
  id: JsonRpcId | null;
  error: { code: number; message: string; data?: unknown };
}

export type JsonRpcResponse = JsonRpcSuccess | JsonRpcFailure;

export function classifyMessage(value: unknown): IncomingMessage {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return invalid(null, 'a JSON-RPC message must be a JSON object');
  }
  const message = value as Record<string, unknown>;
  const rawId = message.id;
  const id = isValidId(rawId) ? rawId : null;
  if (message.jsonrpc !== '2.0') return invalid(id, 'the "jsonrpc" member must be exactly "2.0"');

  if ('method' in message) {
    if (typeof message.method !== 'string' || message.method === '') {
      return invalid(id, 'the "method" member must be a non-empty string');
    }
    const params = message.params;
    if (params !== undefined && (params === null || typeof params !== 'object' || Array.isArray(params))) {
      return invalid(id, 'the "params" member must be an object when present');
    }
    if (!('id' in message))
      return { kind: 'notification', message: message as unknown as JsonRpcNotification };
    if (id === null)
      return invalid(null, 'the "id" member must be a string or an integer (MCP forbids null ids)');
    return { kind: 'request', message: message as unknown as JsonRpcRequest };
  }
  if (('result' in message || 'error' in message) && 'id' in message)
    return { kind: 'response', message: message as unknown as JsonRpcResponse };
  return invalid(
    id,
    'the message has neither "method" (a request or notification) nor "result"/"error" (a response)',
  );
}

function isValidId(value: unknown): value is JsonRpcId {
  return typeof value === 'string' || (typeof value === 'number' && Number.isInteger(value));
}

function invalid(id: JsonRpcId | null, reason: string): IncomingMessage {
  return {
    kind: 'invalid',
    id,
    error: new GatehouseError('GH_MCP_INVALID_REQUEST', `Invalid JSON-RPC request: ${reason}.`),
  };
}

export function success(id: JsonRpcId, result: unknown): JsonRpcSuccess {
  return { jsonrpc: '2.0', id, result };
}

/** The JSON-RPC form of a Gatehouse error: its catalogue code in `data.code`, its message as is. */
export function failure(id: JsonRpcId | null, error: GatehouseError): JsonRpcFailure {
  const entry = ERROR_CATALOGUE[error.code] as { rpc?: number };
  return {
    jsonrpc: '2.0',
    id,
    error: {
      code: entry.rpc ?? -32603,
      message: error.message,
      data: error.data === undefined ? { code: error.code } : { ...error.data, code: error.code },
    },
  };
}
