import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { REGISTRY_TOOLS } from '../../src/gateway/tools/index.js';
import { BUILT_IN_TOOLS, CHAT_TOOLS } from '../../src/mcp/tools/index.js';
import { DEFAULT_TOOL_POLICIES } from '../../src/policy/tool-policy.js';

const doc = readFileSync(new URL('../../docs/tools.md', import.meta.url), 'utf8');

describe('docs/tools.md', () => {
  it('lists every built-in tool with its default extra scopes and roles', () => {
    for (const tool of [...BUILT_IN_TOOLS, ...CHAT_TOOLS, ...REGISTRY_TOOLS]) {
      const row = doc.split('\n').find((line) => line.startsWith(`| \`${tool.name}\` |`));
      expect(row, `${tool.name} has a row`).toBeDefined();
      const cells = (row as string).split(' | ');
      const policy = DEFAULT_TOOL_POLICIES[tool.name];
      expect(policy, `${tool.name} has a default policy`).toBeDefined();
      const scopes = cells[2] as string;
      const roles = cells[3] as string;
      if (policy?.scopes.length === 0) expect(scopes).toBe('—');
      for (const scope of policy?.scopes ?? []) expect(scopes).toContain(`\`${scope}\``);
      if (policy?.roles.length === 0) expect(roles).toBe('any admitted caller');
      for (const role of policy?.roles ?? []) expect(roles).toContain(`\`${role}\``);
    }
  });
});
