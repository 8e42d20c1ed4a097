import type { IncomingMessage } from 'node:http';

/**
 * What the audit log records of a request oidc-provider handles (its events see only the raw
 * request): Fastify's request id and the client address as Fastify resolved it.
 */
export interface RequestAuditContext {
  requestId: string;
  ip: string;
}

const CONTEXTS = new WeakMap<IncomingMessage, RequestAuditContext>();

export function tagRequest(raw: IncomingMessage, context: RequestAuditContext): void {
  CONTEXTS.set(raw, context);
}

export function auditContextOf(raw: IncomingMessage | undefined): RequestAuditContext | undefined {
  return raw === undefined ? undefined : CONTEXTS.get(raw);
}
