/** Server-rendered pages of the sign-in flow. They work without JavaScript and may not be framed. */

export const PAGE_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'content-security-policy':
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self' *; frame-ancestors 'none'; base-uri 'none'",
  'x-frame-options': 'DENY',
  'cache-control': 'no-store',
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
} as const;

export function escapeHtml(text: unknown): string {
  return String(text ?? '').replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

const SCOPE_TEXT: Record<string, string> = {
  discover: 'see which tools Gatehouse offers',
  'tools.read': 'read the descriptions of those tools',
  'tools.execute': 'run tools as you',
  chat: 'use the chat tools as you',
  offline_access: 'stay signed in (refresh its access without asking you again)',
  openid: 'know who you are',
  profile: 'see your name',
};

function layout(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} – Gatehouse</title>
<style>
body{font-family:system-ui,sans-serif;max-width:34rem;margin:3rem auto;padding:0 1rem;color:#1b1b1b;line-height:1.45}
h1{font-size:1.35rem}.client{font-weight:600}.host{font-family:ui-monospace,monospace;background:#f2f2f2;padding:0 .25rem}
ul{padding-left:1.2rem}button{font-size:1rem;padding:.55rem 1.3rem;margin-right:.6rem;border-radius:.3rem;border:1px solid #666;cursor:pointer}
button[value=allow]{background:#0b5cad;color:#fff;border-color:#0b5cad}.note{color:#555;font-size:.9rem}
</style></head><body><main>${body}</main></body></html>`;
}

export interface ConsentView {
  uid: string;
  clientName: string;
  clientId: string;
  redirectHost: string;
  /** Whether the client's redirect goes to this computer (a local app) rather than a web site. */
  redirectIsLocal: boolean;
  scopes: readonly string[];
  csrfToken: string;
  /** Who is signed in already, if anyone (then no Entra sign-in follows). */
  signedInAs: string | null;
}

export function consentPage(view: ConsentView): string {
  const items = view.scopes
    .map(
      (scope) =>
        `<li>${escapeHtml(SCOPE_TEXT[scope] ?? scope)} <span class="note">(${escapeHtml(scope)})</span></li>`,
    )
    .join('');
  const where = view.redirectIsLocal
    ? `an application on this computer (<span class="host">${escapeHtml(view.redirectHost)}</span>)`
    : `<span class="host">${escapeHtml(view.redirectHost)}</span>`;
  return layout(
    'Allow access',
    `<h1>Allow <span class="client">${escapeHtml(view.clientName)}</span> to use Gatehouse?</h1>
<p>After you decide, your browser returns to ${where}.</p>
<p>It asks to:</p><ul>${items}</ul>
<p class="note">Client ID: <span class="host">${escapeHtml(view.clientId)}</span>. Only allow applications you started yourself.
${view.signedInAs ? `You are signed in as ${escapeHtml(view.signedInAs)}.` : 'If you allow, you will sign in with Microsoft Entra ID next.'}</p>
<form method="post" action="/interaction/${escapeHtml(view.uid)}/decision">
<input type="hidden" name="csrf" value="${escapeHtml(view.csrfToken)}">
<button type="submit" name="decision" value="allow">Allow</button>
<button type="submit" name="decision" value="deny">Deny</button>
</form>`,
  );
}

/** A page saying what went wrong; `code` (the catalogue's) is shown for whoever helps the user. */
export function errorPage(title: string, message: string, code?: string): string {
  const reference = code === undefined ? '' : ` (error ${escapeHtml(code)})`;
  return layout(
    title,
    `<h1>${escapeHtml(title)}</h1><p>${escapeHtml(message)}</p><p class="note">Go back to your application and start again${reference}.</p>`,
  );
}
