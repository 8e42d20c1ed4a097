import type { FastifyReply, FastifyRequest } from 'fastify';
import type { EphemeralStore } from '../storage/contract.js';

export interface RegistrationLimit {
  /** Registrations one IP address may make per window. */
  perWindow: number;
  windowMs: number;
}

export const DEFAULT_REGISTRATION_LIMIT: RegistrationLimit = { perWindow: 20, windowMs: 60 * 60 * 1000 };

/**
 * Dynamic registration is open to anyone, so each IP address gets a budget of registrations per
 * window, counted in the shared ephemeral store (every instance sees the same count). Past it:
 * 429 with Retry-After and an OAuth error body.
 */
export function registrationLimiter(store: EphemeralStore, limit: RegistrationLimit) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<boolean> => {
    const { count, resetAt } = await store.increment(`dcr-rate:${request.ip}`, limit.windowMs);
    if (count <= limit.perWindow) return true;
    const retryAfter = Math.max(1, Math.ceil((resetAt - Date.now()) / 1000));
    await reply
      .code(429)
      .header('retry-after', String(retryAfter))
      .header('cache-control', 'no-store')
      .send({
        error: 'too_many_requests',
        error_description: `This address registered ${limit.perWindow} clients within ${limit.windowMs / 60_000} minutes; try again in ${retryAfter} s, or reuse the client you registered.`,
      });
    return false;
  };
}
