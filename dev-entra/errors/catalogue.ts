/**
 * The AADSTS codes the emulator produces, with the OAuth `error` and HTTP status Entra pairs them
 * with. `docs/dev-entra.md` lists the same codes; a test keeps the two in step.
 */
export const AADSTS = {
  28000: {
    error: 'invalid_scope',
    status: 400,
    message:
      'Provided value for the input parameter scope is not valid because it contains more than one resource.',
  },
  50011: {
    error: 'invalid_request',
    status: 400,
    message:
      'The redirect URI specified in the request does not match the redirect URIs configured for the application.',
  },
  50013: { error: 'invalid_grant', status: 400, message: 'Assertion failed signature validation.' },
  50034: {
    error: 'invalid_grant',
    status: 400,
    message: 'The user account does not exist in the directory.',
  },
  50058: {
    error: 'login_required',
    status: 400,
    message: 'A silent sign-in request was sent but no user is signed in.',
  },
  50076: {
    error: 'interaction_required',
    status: 400,
    message:
      'Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access the resource.',
  },
  50079: {
    error: 'interaction_required',
    status: 400,
    message:
      'Due to a configuration change made by your administrator, or because you moved to a new location, you must enroll in multi-factor authentication to access the resource.',
  },
  50126: {
    error: 'invalid_grant',
    status: 400,
    message: 'Error validating credentials due to invalid username or password.',
  },
  50166: { error: 'invalid_request', status: 400, message: 'Request to External OIDC endpoint failed.' },
  54005: {
    error: 'invalid_grant',
    status: 400,
    message:
      'OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.',
  },
  65001: {
    error: 'invalid_grant',
    status: 400,
    message: 'The user or administrator has not consented to use the application.',
  },
  65004: { error: 'access_denied', status: 400, message: 'User declined to consent to access the app.' },
  70000: { error: 'invalid_grant', status: 400, message: 'Provided grant is invalid or malformed.' },
  70003: {
    error: 'unsupported_grant_type',
    status: 400,
    message: 'The app requested an unsupported grant type.',
  },
  70008: {
    error: 'invalid_grant',
    status: 400,
    message: 'The provided authorization code or refresh token has expired due to inactivity.',
  },
  70043: {
    error: 'invalid_grant',
    status: 400,
    message:
      'The refresh token has expired or is invalid due to sign-in frequency checks by conditional access.',
  },
  70011: {
    error: 'invalid_scope',
    status: 400,
    message: 'The provided value for the input parameter scope is not valid.',
  },
  90009: {
    error: 'invalid_request',
    status: 400,
    message:
      'Application is requesting a token for itself. This scenario is supported only if resource is specified using the GUID based App Identifier.',
  },
  90002: {
    error: 'invalid_tenant',
    status: 400,
    message:
      'Tenant not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.',
  },
  500011: {
    error: 'invalid_resource',
    status: 400,
    message: 'The resource principal was not found in the tenant.',
  },
  500112: {
    error: 'invalid_grant',
    status: 400,
    message:
      'The reply address does not match the reply address provided when requesting the authorization code.',
  },
  500113: {
    error: 'invalid_request',
    status: 400,
    message: 'No reply address is registered for the application.',
  },
  500131: {
    error: 'invalid_grant',
    status: 400,
    message: 'Assertion audience does not match the Client app presenting the assertion.',
  },
  500133: { error: 'invalid_grant', status: 400, message: 'Assertion is not within its valid time range.' },
  501481: {
    error: 'invalid_grant',
    status: 400,
    message: 'The Code_Verifier does not match the code_challenge supplied in the authorization request.',
  },
  700016: {
    error: 'unauthorized_client',
    status: 400,
    message: 'Application was not found in the directory.',
  },
  700024: {
    error: 'invalid_client',
    status: 401,
    message: 'Client assertion is not within its valid time range.',
  },
  700025: {
    error: 'invalid_client',
    status: 401,
    message: "Client is public so neither 'client_assertion' nor 'client_secret' should be presented.",
  },
  700027: { error: 'invalid_client', status: 401, message: 'Client assertion failed signature validation.' },
  700054: {
    error: 'unsupported_response_type',
    status: 400,
    message: 'The response_type is not enabled for the application.',
  },
  700082: {
    error: 'invalid_grant',
    status: 400,
    message: 'The refresh token has expired due to inactivity.',
  },
  700211: {
    error: 'invalid_client',
    status: 401,
    message: 'No matching federated identity record found for presented assertion issuer.',
  },
  700212: {
    error: 'invalid_client',
    status: 401,
    message: 'No matching federated identity record found for presented assertion audience.',
  },
  700213: {
    error: 'invalid_client',
    status: 401,
    message: 'No matching federated identity record found for presented assertion subject.',
  },
  900144: {
    error: 'invalid_request',
    status: 400,
    message: 'The request body must contain the following parameter.',
  },
  900561: { error: 'invalid_request', status: 400, message: 'The endpoint only accepts POST requests.' },
  901002: {
    error: 'invalid_request',
    status: 400,
    message: "The 'resource' request parameter is not supported.",
  },
  1002012: {
    error: 'invalid_scope',
    status: 400,
    message:
      'Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).',
  },
  7000215: {
    error: 'invalid_client',
    status: 401,
    message:
      'Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to the app.',
  },
  7000218: {
    error: 'invalid_client',
    status: 401,
    message: "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
  },
  7000222: { error: 'invalid_client', status: 401, message: 'The provided client secret keys are expired.' },
  9002313: {
    error: 'invalid_grant',
    status: 400,
    message: 'Invalid request. Request is malformed or invalid.',
  },
  9002325: {
    error: 'invalid_request',
    status: 400,
    message: 'Proof Key for Code Exchange is required for cross-origin authorization code redemption.',
  },
  9002326: {
    error: 'invalid_request',
    status: 400,
    message: "Cross-origin token redemption is permitted only for the 'Single-Page Application' client-type.",
  },
  9002327: {
    error: 'invalid_request',
    status: 400,
    message:
      "Tokens issued for the 'Single-Page Application' client-type may only be redeemed via cross-origin requests.",
  },
  9010010: {
    error: 'invalid_target',
    status: 400,
    message: 'The resource parameter provided in the request does not match with the requested scopes.',
  },
} as const satisfies Record<number, { error: string; status: number; message: string }>;

export type AadstsCode = keyof typeof AADSTS;
