import type { ToolPolicy } from './tool-policy.js';

const OPEN: ToolPolicy = Object.freeze({ scopes: [], roles: [] });

/**
 * Defaults for the built-in prompts, by prompt name; the config file's "prompts" section overrides
 * them. A prompt is decided exactly like a tool: `roles` decide whether prompts/list shows it and
 * whether prompts/get serves it, `scopes` are needed (besides tools.execute) to get it.
 */
export const DEFAULT_PROMPT_POLICIES: Readonly<Record<string, ToolPolicy>> = Object.freeze({
  summarize_notes: OPEN,
  review_note: OPEN,
  add_numbers: OPEN,
});

/**
 * Defaults for the built-in resources, by resource family (`notes`: every `note://{id}`); the
 * config file's "resources" section overrides them.
 */
export const DEFAULT_RESOURCE_POLICIES: Readonly<Record<string, ToolPolicy>> = Object.freeze({
  notes: OPEN,
});

export function contentPolicyFor(
  name: string,
  overrides: Readonly<Record<string, ToolPolicy>>,
  defaults: Readonly<Record<string, ToolPolicy>>,
): ToolPolicy {
  return overrides[name] ?? defaults[name] ?? OPEN;
}
