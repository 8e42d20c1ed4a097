import type { EmulatorContext } from '../context.js';
import { escapeHtml } from '../lib/encoding.js';
import type { SeedUser } from '../seed.js';
import type { PendingAuthorization } from '../state.js';
import { page } from './html-layout.js';

export interface SignInPageOptions {
  error?: { code: number; message: string };
  signedInUserId?: string;
  username?: string;
}

function hidden(name: string, value: string): string {
  return `<input type="hidden" name="${name}" value="${escapeHtml(value)}">`;
}

/** `domain_hint` narrows the one-click list to accounts of that domain, when it names one. */
function listedUsers(
  ctx: EmulatorContext,
  pending: PendingAuthorization,
): { users: SeedUser[]; note?: string } {
  const hint = pending.domainHint?.toLowerCase();
  if (!hint || hint === 'organizations' || hint === ctx.tenantId) return { users: ctx.seed.users };
  const users = ctx.seed.users.filter((u) => u.userPrincipalName?.toLowerCase().endsWith(`@${hint}`));
  if (users.length > 0) return { users };
  return {
    users: ctx.seed.users,
    note: `No accounts in domain '${hint}'; showing every account of the tenant.`,
  };
}

/** Server-rendered, works without JavaScript: a username/password form plus one-click seeded users. */
export function renderSignInPage(
  ctx: EmulatorContext,
  pending: PendingAuthorization,
  options: SignInPageOptions = {},
): string {
  const action = `${ctx.baseUrl}/${pending.tenantSegment}/oauth2/${pending.version === 'v2' ? 'v2.0/' : ''}authorize`;
  const client = ctx.directory.app(pending.clientId);
  const username = options.username ?? pending.loginHint ?? '';
  const { users, note } = listedUsers(ctx, pending);
  const error = options.error
    ? `<p class="error" role="alert" id="error">AADSTS${options.error.code}: ${escapeHtml(options.error.message)}</p>`
    : '';
  const mfa = pending.claims
    ? '<p class="note" id="mfa-note">The application asked for additional verification (claims challenge). Signing in here counts as multi-factor authentication.</p>'
    : '';
  const accounts = users
    .map(
      (
        u,
      ) => `<li><form method="post" action="${escapeHtml(action)}">${hidden('ctx', pending.id)}${hidden('username', u.userPrincipalName ?? u.userName)}${hidden('password', u.password)}
<span>${escapeHtml(u.displayName)}<br><code>${escapeHtml(u.userPrincipalName ?? u.userName)}</code>${u.id === options.signedInUserId ? ' (signed in)' : ''}</span>
<button type="submit" name="quick" value="1" data-user="${escapeHtml(u.userName)}">Sign in as ${escapeHtml(u.userName)}</button></form></li>`,
    )
    .join('\n');
  return page(
    'Sign in',
    `<h1>Sign in</h1>
<p class="note">to <strong>${escapeHtml(client?.displayName ?? pending.clientId)}</strong> in ${escapeHtml(ctx.seed.tenant.displayName)}</p>
${error}${mfa}
<form method="post" action="${escapeHtml(action)}" id="sign-in">
${hidden('ctx', pending.id)}
<label for="username">Email, phone, or Skype</label>
<input type="text" id="username" name="username" autocomplete="username" value="${escapeHtml(username)}" required>
<label for="password">Password</label>
<input type="password" id="password" name="password" autocomplete="current-password">
<button type="submit" id="submit">Sign in</button>
<button type="submit" class="secondary" name="cancel" value="1" formnovalidate id="cancel">Cancel</button>
</form>
<h2 style="font-size:16px;margin-top:28px">Seeded development accounts</h2>
${note ? `<p class="note">${escapeHtml(note)}</p>` : ''}
<ul class="accounts">${accounts}</ul>`,
  );
}
