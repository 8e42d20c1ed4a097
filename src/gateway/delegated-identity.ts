import type { DelegatedAccess } from '../entra/delegated-access.js';
import { GatehouseError } from '../errors/index.js';
import type { IdentityFor } from './surface.js';

/**
 * Adds, for upstreams configured with `"auth": {"type": "on-behalf-of", "scope": …}`, an
 * `Authorization: Bearer` header with an Entra token for that scope obtained on the caller's behalf
 * (cached per user and scope by DelegatedAccess), to whatever `base` sends (the identity assertion).
 */
export function withDelegatedAuth(base: IdentityFor, delegated: DelegatedAccess | undefined): IdentityFor {
  return (caller, server) => {
    const auth = server.auth;
    if (auth === undefined) return base(caller, server);
    return (async () => {
      if (delegated === undefined) {
        throw new GatehouseError(
          'GH_ENTRA_OBO_FAILED',
          `The server '${server.name}' is reached on the user's behalf (auth on-behalf-of), but Gatehouse holds no Entra credential: an administrator must set MCP_AZURE_CLIENT_SECRET (or a certificate or federated credential).`,
        );
      }
      const subject = await delegated.subjectOf(caller);
      const token = await delegated.token(subject, auth.scope, caller.kind);
      const own = await base(caller, server);
      return { ...own, headers: { ...own?.headers, authorization: `Bearer ${token}` } };
    })();
  };
}
