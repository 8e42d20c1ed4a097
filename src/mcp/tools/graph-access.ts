import type { DelegatedAccess, DelegationSubject } from '../../entra/delegated-access.js';
import { GatehouseError } from '../../errors/index.js';
import type { ToolCallContext } from '../tool.js';

/** Graph's /me properties the tools return (the default set, as Graph names them). */
export const ME_SELECT =
  'id,displayName,givenName,surname,mail,userPrincipalName,jobTitle,officeLocation,mobilePhone,businessPhones,preferredLanguage';

/** On-behalf-of for the caller of a tool, or the reason it cannot be had. */
export async function delegationFor(
  context: Pick<ToolCallContext, 'caller' | 'services'>,
): Promise<{ delegated: DelegatedAccess; subject: DelegationSubject }> {
  const { caller, services } = context;
  const delegated = services.delegated;
  if (delegated === undefined && (caller.kind === 'gatehouse' || caller.kind === 'entra-user')) {
    throw new GatehouseError(
      'GH_ENTRA_OBO_FAILED',
      'Gatehouse holds no Entra credential, so it cannot act on your behalf toward Microsoft Graph. An administrator must set MCP_AZURE_CLIENT_SECRET (or a certificate or federated credential); see docs/azure-setup.md.',
    );
  }
  if (delegated === undefined) {
    throw new GatehouseError(
      'GH_ENTRA_OBO_APP_ONLY',
      "Acting on a user's behalf needs a signed-in user; this caller has none (development mode or an app-only credential).",
    );
  }
  return { delegated, subject: await delegated.subjectOf(caller) };
}
