import type { EmulatorContext } from '../context.js';
import type { ResourceRequest } from '../directory/scopes.js';
import { randomString } from '../lib/encoding.js';
import type { SeedApplication, SeedUser } from '../seed.js';
import type { SignIn } from '../state.js';
import { accessTokenLifetimeSeconds } from './lifetimes.js';
import { signJwt } from './sign.js';

/** `appidacr`/`azpacr`: 0 public client, 1 client secret, 2 certificate. */
export type ClientAuthLevel = '0' | '1' | '2';

interface Common {
  client: SeedApplication;
  clientAcr: ClientAuthLevel;
  resource: ResourceRequest;
}

export interface DelegatedToken extends Common {
  kind: 'user';
  user: SeedUser;
  signIn: SignIn;
  scopes: string[];
  oidc: ReadonlySet<string>;
}

export interface AppOnlyToken extends Common {
  kind: 'app';
  roles: string[];
}

export interface IssuedToken {
  token: string;
  expiresIn: number;
  claims: Record<string, unknown>;
}

/** Opaque claims Entra always sends; clients must not parse them. */
function opaque(): { aio: string; rh: string; uti: string } {
  return { aio: randomString(48), rh: `0.A${randomString(40)}`, uti: randomString(16) };
}

function groupClaims(
  ctx: EmulatorContext,
  user: SeedUser,
  resource: SeedApplication,
): Record<string, unknown> {
  if (resource.groupMembershipClaims === 'None' || user.groups.length === 0) return {};
  if (user.groups.length > ctx.switches.groupsOverageLimit) {
    // Entra still points overage at the legacy Azure AD Graph; clients are expected to call Microsoft Graph.
    return {
      _claim_names: { groups: 'src1' },
      _claim_sources: {
        src1: { endpoint: `https://graph.windows.net/${ctx.tenantId}/users/${user.id}/getMemberObjects` },
      },
    };
  }
  return { groups: [...user.groups] };
}

/** Builds an access token shaped as the resource's `accessTokenAcceptedVersion` says. */
export async function issueAccessToken(
  ctx: EmulatorContext,
  input: DelegatedToken | AppOnlyToken,
): Promise<IssuedToken> {
  const api = input.resource.app;
  const version = api.accessTokenAcceptedVersion === 2 ? 2 : 1;
  const iat = ctx.nowSeconds();
  const expiresIn = accessTokenLifetimeSeconds();
  const ids = opaque();
  const clientSp = input.client.servicePrincipalId;
  const idtyp =
    api.optionalClaims.accessToken.includes('idtyp') && input.kind === 'app' ? { idtyp: 'app' } : {};
  const roles = input.kind === 'app' ? input.roles : ctx.directory.userRoles(input.user, api);
  const rolesClaim = roles.length > 0 ? { roles } : {};
  const times = { iat, nbf: iat, exp: iat + expiresIn };
  let claims: Record<string, unknown>;

  if (version === 2) {
    const base = {
      aud: api.appId,
      iss: ctx.issuerV2(),
      ...times,
      aio: ids.aio,
      azp: input.client.appId,
      azpacr: input.clientAcr,
    };
    if (input.kind === 'app') {
      claims = {
        ...base,
        ...idtyp,
        oid: clientSp,
        rh: ids.rh,
        ...rolesClaim,
        sub: clientSp,
        tid: ctx.tenantId,
        uti: ids.uti,
        ver: '2.0',
      };
    } else {
      const u = input.user;
      claims = {
        ...base,
        ...groupClaims(ctx, u, api),
        name: u.displayName,
        oid: u.id,
        ...(input.oidc.has('profile') ? { preferred_username: u.userPrincipalName } : {}),
        rh: ids.rh,
        ...rolesClaim,
        scp: input.scopes.join(' '),
        sid: input.signIn.sid,
        sub: ctx.directory.pairwiseSubject(u.id, input.client.appId),
        tid: ctx.tenantId,
        uti: ids.uti,
        ver: '2.0',
      };
    }
  } else {
    const base = { aud: input.resource.audience, iss: ctx.issuerV1(), ...times };
    if (input.kind === 'app') {
      claims = {
        ...base,
        aio: ids.aio,
        appid: input.client.appId,
        appidacr: input.clientAcr,
        ...idtyp,
        idp: ctx.issuerV1(),
        oid: clientSp,
        rh: ids.rh,
        ...rolesClaim,
        sub: clientSp,
        tid: ctx.tenantId,
        uti: ids.uti,
        ver: '1.0',
      };
    } else {
      const u = input.user;
      claims = {
        ...base,
        acr: '1',
        aio: ids.aio,
        amr: input.signIn.mfa ? ['pwd', 'mfa'] : ['pwd'],
        appid: input.client.appId,
        appidacr: input.clientAcr,
        ...(u.surname ? { family_name: u.surname } : {}),
        ...(u.givenName ? { given_name: u.givenName } : {}),
        ...groupClaims(ctx, u, api),
        ipaddr: '127.0.0.1',
        name: u.displayName,
        oid: u.id,
        rh: ids.rh,
        ...rolesClaim,
        scp: input.scopes.join(' '),
        sid: input.signIn.sid,
        sub: ctx.directory.pairwiseSubject(u.id, input.client.appId),
        tid: ctx.tenantId,
        unique_name: u.userPrincipalName,
        upn: u.userPrincipalName,
        uti: ids.uti,
        ver: '1.0',
      };
    }
  }
  if (input.kind === 'user' && input.signIn.mfa) ctx.state.mfaTokens.add(ids.uti);
  const token = await signJwt(ctx.keys.active, claims, {
    includeX5t: version === 1,
    graphNonce: api.isMicrosoftGraph,
  });
  return { token, expiresIn, claims };
}
