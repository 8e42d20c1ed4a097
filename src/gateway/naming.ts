import { createHash } from 'node:crypto';

/**
 * How an upstream's tools and prompts are named at /mcp: `{server}__{name}`. Clients refuse tool
 * names longer than 64 characters, so a longer name keeps the `{server}__` prefix and as much of
 * the original as fits, then `_` and 8 hex digits of the original's SHA-256: the same input always
 * gives the same name, and two long names of one server that share a beginning still differ.
 * Server names never contain `__` (server-config.ts), so the prefix alone says which server a
 * name belongs to, and no server can produce another server's (or a built-in tool's) names.
 */
export const NAME_SEPARATOR = '__';
export const MAX_EXPOSED_NAME = 64;
const HASH_LENGTH = 8;

export function exposedName(server: string, name: string): string {
  const full = `${server}${NAME_SEPARATOR}${name}`;
  if (full.length <= MAX_EXPOSED_NAME) return full;
  const hash = createHash('sha256').update(name).digest('hex').slice(0, HASH_LENGTH);
  const keep = MAX_EXPOSED_NAME - server.length - NAME_SEPARATOR.length - 1 - HASH_LENGTH;
  return `${server}${NAME_SEPARATOR}${name.slice(0, keep)}_${hash}`;
}

/** The server a prefixed name belongs to, or undefined for a name without the separator (a built-in). */
export function serverOfName(name: string): string | undefined {
  const at = name.indexOf(NAME_SEPARATOR);
  return at <= 0 ? undefined : name.slice(0, at);
}

/**
 * Resources keep their upstream URI behind a prefix naming the server:
 * `gatehouse://{server}/{original uri}` (templates too, so their variables stay in place).
 */
export const RESOURCE_PREFIX = 'gatehouse://';

export function exposedUri(server: string, uri: string): string {
  return `${RESOURCE_PREFIX}${server}/${uri}`;
}

/** The server and the upstream's own URI of an exposed resource URI, or undefined when it names none. */
export function parseExposedUri(uri: string): { server: string; uri: string } | undefined {
  if (!uri.startsWith(RESOURCE_PREFIX)) return undefined;
  const rest = uri.slice(RESOURCE_PREFIX.length);
  const slash = rest.indexOf('/');
  if (slash <= 0) return undefined;
  return { server: rest.slice(0, slash), uri: rest.slice(slash + 1) };
}
