import type { GatehouseConfig } from '../config/index.js';
import type { DurableStore } from '../storage/contract.js';

/** A user's allowance of one OAuth client (oidc-provider's Grant), as the pages show it. */
export interface GrantListing {
  id: string;
  accountId: string;
  clientId: string;
  clientName: string;
  scopes: string[];
  /** ISO time the grant was made, when known. */
  issuedAt: string | null;
  expiresAt: string | null;
}

/** How many grants and clients the pages read at most. */
export const LIST_LIMIT = 1000;

export async function listGrants(
  durable: DurableStore,
  config: Pick<GatehouseConfig, 'clients'>,
  filter: { accountId?: string } = {},
): Promise<GrantListing[]> {
  const rows = await durable.oauthModels.list('Grant', LIST_LIMIT);
  const names = new Map<string, string>();
  const listings: GrantListing[] = [];
  for (const row of rows) {
    const payload = row.payload as {
      accountId?: string;
      clientId?: string;
      iat?: number;
      openid?: { scope?: string };
      resources?: Record<string, string>;
    };
    if (typeof payload.accountId !== 'string' || typeof payload.clientId !== 'string') continue;
    if (filter.accountId !== undefined && payload.accountId !== filter.accountId) continue;
    let clientName = names.get(payload.clientId);
    if (clientName === undefined) {
      clientName = await clientNameOf(durable, config, payload.clientId);
      names.set(payload.clientId, clientName);
    }
    const scopes = new Set<string>((payload.openid?.scope ?? '').split(' ').filter(Boolean));
    for (const granted of Object.values(payload.resources ?? {}))
      for (const scope of String(granted).split(' ').filter(Boolean)) scopes.add(scope);
    listings.push({
      id: row.id,
      accountId: payload.accountId,
      clientId: payload.clientId,
      clientName,
      scopes: [...scopes],
      issuedAt: typeof payload.iat === 'number' ? new Date(payload.iat * 1000).toISOString() : null,
      expiresAt: row.expiresAt?.toISOString() ?? null,
    });
  }
  return listings;
}

async function clientNameOf(
  durable: DurableStore,
  config: Pick<GatehouseConfig, 'clients'>,
  clientId: string,
): Promise<string> {
  const configured = config.clients.find((client) => client.client_id === clientId);
  const stored = configured ?? (await durable.oauthModels.find('Client', clientId))?.payload;
  return typeof stored?.client_name === 'string' ? stored.client_name : clientId;
}

/**
 * Ends a grant: the grant itself (which every Gatehouse access token is checked against) and every
 * token and code issued under it; `onGrantRevoked` evicts its tokens from this instance's cache at
 * once (other instances re-check within the authenticator's grant re-check interval).
 */
export async function revokeGrant(
  durable: DurableStore,
  grantId: string,
  onGrantRevoked: ((grantId: string) => void) | undefined,
): Promise<boolean> {
  const existed = await durable.oauthModels.destroy('Grant', grantId);
  const tokens = await durable.oauthModels.revokeByGrantId(grantId);
  onGrantRevoked?.(grantId);
  return existed || tokens > 0;
}
