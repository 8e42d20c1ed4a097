import { describe, expect, it } from 'vitest';
import {
  admitStateless,
  HANDSHAKE_ERA,
  STATELESS_ERA,
  type StatelessHeaders,
  selectEra,
  selectEraByHeader,
} from '../../src/mcp/era.js';

// The era choice and the ordered checks of a 2026-07-28 request, without a socket.

const ENVELOPE = {
  'io.modelcontextprotocol/protocolVersion': '2026-07-28',
  'io.modelcontextprotocol/clientCapabilities': {},
};
const HEADERS: StatelessHeaders = { version: '2026-07-28', method: 'tools/call', name: 'whoami' };
const CALL = { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'whoami', _meta: ENVELOPE } };

function rejection(headers: StatelessHeaders, body: unknown) {
  const read = admitStateless(headers, body);
  if (!('rejected' in read)) throw new Error('admitted');
  return { id: read.rejected.id, code: read.rejected.error.code };
}

describe('selectEra', () => {
  it('is the handshake era without a header or with a 2025 one, and no envelope in the body', () => {
    expect(selectEra(undefined, { method: 'tools/list' })).toBe(HANDSHAKE_ERA);
    expect(selectEra('2025-11-25', { method: 'tools/list', params: { _meta: { progressToken: 1 } } })).toBe(
      HANDSHAKE_ERA,
    );
    expect(selectEra('2025-03-26', [{ method: 'ping' }])).toBe(HANDSHAKE_ERA);
  });

  it('is the stateless era for a 2026-07-28 (or later) header, or a body that claims it', () => {
    expect(selectEra('2026-07-28', {})).toBe(STATELESS_ERA);
    expect(selectEra('2099-01-01', {})).toBe(STATELESS_ERA);
    expect(selectEra(undefined, CALL)).toBe(STATELESS_ERA);
    expect(selectEra('2025-11-25', CALL)).toBe(STATELESS_ERA);
    expect(selectEra(undefined, [{ method: 'ping' }, CALL])).toBe(STATELESS_ERA);
    expect(selectEraByHeader('2026-07-28').streams).toBe(false);
    expect(selectEraByHeader(undefined).streams).toBe(true);
  });
});

describe('admitStateless', () => {
  it('admits a complete request, reading log level and trace context from _meta', () => {
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const read = admitStateless(HEADERS, {
      ...CALL,
      params: {
        ...CALL.params,
        _meta: { ...ENVELOPE, 'io.modelcontextprotocol/logLevel': 'info', traceparent },
      },
    });
    expect(read).toMatchObject({ admitted: { kind: 'request', logLevel: 'info', traceparent } });
  });

  it('ignores trace context that is not W3C traceparent', () => {
    const read = admitStateless(HEADERS, {
      ...CALL,
      params: { ...CALL.params, _meta: { ...ENVELOPE, traceparent: 'not-a-trace' } },
    });
    expect(read).toMatchObject({ admitted: { traceparent: undefined } });
  });

  it('answers the first failing check, in the ladder order, keeping the id', () => {
    // No envelope and no Mcp-Method: the envelope is checked first.
    expect(
      rejection(
        { version: '2026-07-28', method: undefined, name: undefined },
        { jsonrpc: '2.0', id: 5, method: 'tools/list' },
      ),
    ).toEqual({ id: 5, code: 'GH_MCP_ENVELOPE_INVALID' });
    // Versions disagreeing and the revision unserved: the disagreement is answered.
    expect(
      rejection(HEADERS, {
        ...CALL,
        params: {
          ...CALL.params,
          _meta: { ...ENVELOPE, 'io.modelcontextprotocol/protocolVersion': '2099-01-01' },
        },
      }),
    ).toEqual({ id: 1, code: 'GH_MCP_HEADER_MISMATCH' });
    // Header and body agree on an unserved revision.
    expect(
      rejection(
        { ...HEADERS, version: '2099-01-01' },
        {
          ...CALL,
          params: {
            ...CALL.params,
            _meta: { ...ENVELOPE, 'io.modelcontextprotocol/protocolVersion': '2099-01-01' },
          },
        },
      ),
    ).toEqual({ id: 1, code: 'GH_MCP_REVISION_UNSUPPORTED' });
    // A header naming an unserved revision, no envelope: what is served, not what is missing.
    expect(
      rejection({ ...HEADERS, version: '2099-01-01' }, { jsonrpc: '2.0', id: 6, method: 'tools/list' }),
    ).toEqual({
      id: 6,
      code: 'GH_MCP_REVISION_UNSUPPORTED',
    });
  });

  it.each([
    ['a malformed logLevel', { 'io.modelcontextprotocol/logLevel': 'loud' }],
    ['clientCapabilities not an object', { 'io.modelcontextprotocol/clientCapabilities': [] }],
    ['a clientInfo without version', { 'io.modelcontextprotocol/clientInfo': { name: 'x' } }],
  ])('refuses an envelope with %s as invalid params', (_case, extra) => {
    expect(
      rejection(HEADERS, { ...CALL, params: { ...CALL.params, _meta: { ...ENVELOPE, ...extra } } }),
    ).toEqual({
      id: 1,
      code: 'GH_MCP_ENVELOPE_INVALID',
    });
  });

  it('refuses an Mcp-Name in the Base64 form that is not Base64', () => {
    expect(rejection({ ...HEADERS, name: '=?base64?not base64!?=' }, CALL)).toEqual({
      id: 1,
      code: 'GH_MCP_HEADER_MISMATCH',
    });
  });

  it('admits a notification without an envelope, but not one whose Mcp-Method contradicts it', () => {
    const cancelled = { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 1 } };
    expect(
      admitStateless({ version: '2026-07-28', method: undefined, name: undefined }, cancelled),
    ).toMatchObject({
      admitted: { kind: 'notification' },
    });
    expect(rejection({ version: '2026-07-28', method: 'tools/call', name: undefined }, cancelled)).toEqual({
      id: null,
      code: 'GH_MCP_HEADER_MISMATCH',
    });
  });

  it('refuses batches, posted responses and ids MCP does not allow', () => {
    expect(rejection(HEADERS, [CALL])).toEqual({ id: null, code: 'GH_MCP_BATCH_UNSUPPORTED' });
    expect(rejection(HEADERS, { jsonrpc: '2.0', id: 3, result: {} })).toEqual({
      id: 3,
      code: 'GH_MCP_INVALID_REQUEST',
    });
    expect(rejection(HEADERS, { ...CALL, id: null })).toEqual({ id: null, code: 'GH_MCP_INVALID_REQUEST' });
  });
});

describe('the stateless era writes results for the 2026 wire', () => {
  const serverMeta = { 'io.modelcontextprotocol/serverInfo': { name: 'gatehouse', version: '1' } };

  it('adds resultType, cache hints on lists, and serverInfo, keeping what the handler set', () => {
    expect(STATELESS_ERA.writeResult('tools/list', { tools: [] }, serverMeta)).toEqual({
      tools: [],
      resultType: 'complete',
      ttlMs: 30_000,
      cacheScope: 'private',
      _meta: serverMeta,
    });
    expect(STATELESS_ERA.writeResult('tools/call', { content: [], _meta: { other: 1 } }, serverMeta)).toEqual(
      { content: [], resultType: 'complete', _meta: { other: 1, ...serverMeta } },
    );
  });

  it('leaves the handshake era untouched', () => {
    const result = { tools: [] };
    expect(HANDSHAKE_ERA.writeResult('tools/list', result, serverMeta)).toBe(result);
  });
});
