import type { EmulatorContext, ProtocolVersion } from '../context.js';
import { randomString } from '../lib/encoding.js';
import type { SeedApplication, SeedUser } from '../seed.js';
import type { SignIn } from '../state.js';
import { ID_TOKEN_LIFETIME_SECONDS } from './lifetimes.js';
import { signJwt } from './sign.js';

export interface IdTokenInput {
  version: ProtocolVersion;
  client: SeedApplication;
  user: SeedUser;
  signIn: SignIn;
  oidc: ReadonlySet<string>;
  nonce: string | undefined;
}

/** ID tokens are for the client (`aud` = its id); the endpoint version, not the API, picks the shape. */
export async function issueIdToken(ctx: EmulatorContext, input: IdTokenInput): Promise<string> {
  const u = input.user;
  const iat = ctx.nowSeconds();
  const common = {
    aud: input.client.appId,
    iss: ctx.issuer(input.version),
    iat,
    nbf: iat,
    exp: iat + ID_TOKEN_LIFETIME_SECONDS,
  };
  const nonce = input.nonce === undefined ? {} : { nonce: input.nonce };
  const sub = ctx.directory.pairwiseSubject(u.id, input.client.appId);
  const email = input.oidc.has('email') && u.mail ? { email: u.mail } : {};
  let claims: Record<string, unknown>;
  if (input.version === 'v2') {
    const profile = input.oidc.has('profile')
      ? { name: u.displayName, preferred_username: u.userPrincipalName }
      : {};
    claims = {
      ...common,
      aio: randomString(48),
      ...email,
      ...profile,
      ...nonce,
      oid: u.id,
      rh: `0.A${randomString(40)}`,
      sid: input.signIn.sid,
      sub,
      tid: ctx.tenantId,
      uti: randomString(16),
      ver: '2.0',
    };
  } else {
    claims = {
      ...common,
      amr: input.signIn.mfa ? ['pwd', 'mfa'] : ['pwd'],
      ...email,
      ...(u.surname ? { family_name: u.surname } : {}),
      ...(u.givenName ? { given_name: u.givenName } : {}),
      ipaddr: '127.0.0.1',
      name: u.displayName,
      ...nonce,
      oid: u.id,
      rh: `0.A${randomString(40)}`,
      sid: input.signIn.sid,
      sub,
      tid: ctx.tenantId,
      unique_name: u.userPrincipalName,
      upn: u.userPrincipalName,
      uti: randomString(16),
      ver: '1.0',
    };
  }
  return signJwt(ctx.keys.active, claims, { includeX5t: input.version === 'v1', graphNonce: false });
}

/** MSAL's `client_info`: base64url JSON of the home account (`uid` = oid, `utid` = tid). */
export function clientInfo(ctx: EmulatorContext, user: SeedUser): string {
  return Buffer.from(JSON.stringify({ uid: user.id, utid: ctx.tenantId })).toString('base64url');
}
