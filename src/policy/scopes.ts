/** The logical scopes Gatehouse checks, and the names tokens carry for them (configurable). */
export interface ScopeNames {
  /** See which tools exist (tools/list). */
  discover: string;
  /** Read tool metadata; also enough for tools/list. */
  toolsRead: string;
  /** Call tools. */
  toolsExecute: string;
  /** Use the chat tools. */
  chat: string;
}

export const DEFAULT_SCOPE_NAMES: ScopeNames = Object.freeze({
  discover: 'discover',
  toolsRead: 'tools.read',
  toolsExecute: 'tools.execute',
  chat: 'chat',
});

export function allScopes(names: ScopeNames): string[] {
  return [names.discover, names.toolsRead, names.toolsExecute, names.chat];
}
