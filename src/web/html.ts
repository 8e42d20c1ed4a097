import { escapeHtml, PAGE_HEADERS } from '../auth-server/interactions/pages.js';

export { escapeHtml };

/**
 * Gatehouse's own pages: server-rendered, no script, never framed (frame-ancestors 'none' and
 * X-Frame-Options DENY), forms posted only to Gatehouse itself.
 */
export const WEB_PAGE_HEADERS = {
  ...PAGE_HEADERS,
  'content-security-policy':
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
} as const;

/** Marks a string as already-escaped HTML. */
export interface Html {
  readonly html: string;
}

export const raw = (html: string): Html => ({ html });

/** A template tag that escapes every interpolated value except Html (and arrays of it). */
export function html(strings: TemplateStringsArray, ...values: unknown[]): Html {
  let out = strings[0] ?? '';
  values.forEach((value, index) => {
    out += render(value) + (strings[index + 1] ?? '');
  });
  return raw(out);
}

function render(value: unknown): string {
  if (value === undefined || value === null || value === false) return '';
  if (Array.isArray(value)) return value.map(render).join('');
  if (typeof value === 'object' && 'html' in value) return (value as Html).html;
  return escapeHtml(value);
}

const STYLE = `
body{font-family:system-ui,sans-serif;margin:0;color:#1b1b1b;line-height:1.45;background:#fafafa}
header{background:#16324f;color:#fff;padding:.7rem 1.5rem;display:flex;gap:1.2rem;align-items:center;flex-wrap:wrap}
header a{color:#fff;text-decoration:none}header a.current{text-decoration:underline}
header .brand{font-weight:700;margin-right:1rem}header form{margin:0 0 0 auto}
main{max-width:68rem;margin:1.5rem auto;padding:0 1.5rem}
h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:1.8rem}
table{border-collapse:collapse;width:100%;background:#fff}th,td{border:1px solid #ddd;padding:.35rem .5rem;text-align:left;vertical-align:top;font-size:.92rem}
th{background:#eef2f6}code,pre{font-family:ui-monospace,monospace;background:#f0f0f0;padding:0 .2rem}
pre{padding:.6rem;overflow-x:auto;white-space:pre-wrap}
button,.button{font-size:.92rem;padding:.35rem .9rem;border-radius:.3rem;border:1px solid #0b5cad;background:#0b5cad;color:#fff;cursor:pointer;text-decoration:none;display:inline-block}
button.danger{background:#b3261e;border-color:#b3261e}header button{background:transparent;border-color:#fff}
input,select{font-size:.92rem;padding:.25rem .4rem}form.inline{display:inline}
.cards{display:flex;gap:1rem;flex-wrap:wrap}.card{background:#fff;border:1px solid #ddd;border-radius:.4rem;padding:.8rem 1.2rem;min-width:8rem}
.card .n{font-size:1.6rem;font-weight:700}.note{color:#555;font-size:.9rem}
.ok{color:#12692b;font-weight:600}.bad{color:#b3261e;font-weight:600}.flash{background:#e7f4ea;border:1px solid #9bd3a8;padding:.5rem .8rem}
.error{background:#fdecea;border:1px solid #f1aaa4;padding:.5rem .8rem}
`;

export interface LayoutOptions {
  title: string;
  /** The navigation shown in the header (the admin console's pages), with the current one marked. */
  nav?: readonly { href: string; label: string }[];
  current?: string;
  /** Shown at the right of the header, with a sign-out button. */
  signedInAs?: string;
  csrfToken?: string;
}

export function page(options: LayoutOptions, body: Html): string {
  const nav = (options.nav ?? []).map(
    (item) =>
      html`<a href="${item.href}"${raw(item.href === options.current ? ' class="current"' : '')}>${item.label}</a>`,
  );
  const signOut =
    options.signedInAs === undefined
      ? html``
      : html`<form method="post" action="/auth/logout"><span>${options.signedInAs}</span>
<input type="hidden" name="csrf" value="${options.csrfToken ?? ''}"> <button type="submit">Sign out</button></form>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(options.title)} – Gatehouse</title><style>${STYLE}</style></head>
<body><header><a class="brand" href="/">Gatehouse</a>${nav.map((item) => item.html).join('')}${signOut.html}</header>
<main>${body.html}</main></body></html>`;
}
