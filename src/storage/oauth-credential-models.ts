import { createHash } from 'node:crypto';

/**
 * The oidc-provider models whose id IS a credential: whoever presents the id uses it (a code at
 * the token endpoint, a token as a bearer, a device code or CIBA request id when polling, a
 * registration or initial access token at the registration endpoint). DESIGN §4 stores such values
 * only as hashes, so a copy of the database grants nothing: every backend keeps these rows under
 * `hashCredentialId(id)` and drops the payload's `jti` (the same value), restoring it on read from
 * the id the caller presented.
 *
 * Deliberately absent:
 * - Session: its id is the session cookie, but `Session.findByUid` must hand back a usable id,
 *   which a hash cannot give. The cookie is signed with the cookie keys, which the database does
 *   not hold, so a copied id alone does not make a cookie oidc-provider accepts.
 * - Interaction and PushedAuthorizationRequest: their ids travel in URLs through the browser.
 * - Grant (its id is never presented by anyone), Client (a public client_id) and ReplayDetection
 *   (its id is already a hash).
 */
export const CREDENTIAL_MODELS: ReadonlySet<string> = new Set([
  'AccessToken',
  'AuthorizationCode',
  'BackchannelAuthenticationRequest',
  'ClientCredentials',
  'DeviceCode',
  'InitialAccessToken',
  'PreAuthorizedCode',
  'RefreshToken',
  'RegistrationAccessToken',
]);

/**
 * Prefix of a reference to a stored credential row: what a lookup by uid or user code returns as
 * the id, since the credential itself is not stored. Writes (upsert, consume, destroy) accept it;
 * `find` never does, so knowing a hash never opens a row. `:` cannot occur in an id oidc-provider
 * generates (base64url).
 */
export const CREDENTIAL_REFERENCE_PREFIX = 'sha256:';

/** The stored id of a credential: SHA-256 of the presented value, base64url. */
export function hashCredentialId(id: string): string {
  return createHash('sha256').update(id, 'utf8').digest('base64url');
}
