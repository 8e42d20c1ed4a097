import { afterEach, describe, expect, it } from 'vitest';
import {
  explainingRuntimeWarnings,
  nodeSqliteExperimentalNote,
  oidcProviderRuntimeNote,
} from '../../../src/cli/runtime-warnings.js';

describe("Gatehouse's line after oidc-provider's runtime warning", () => {
  it('on Node 20: supported and tested, past its end of life, 24 LTS recommended', () => {
    const note = oidcProviderRuntimeNote('20.19.0');
    expect(note).toMatch(/^Gatehouse: the oidc-provider warning above/);
    expect(note).toContain('Gatehouse supports Node.js 20.19+, 22 LTS and 24 LTS (recommended)');
    expect(note).toContain('end of life');
    expect(note).toContain('move to Node.js 24 LTS');
  });

  it('on a 22.x or 24.x that is not yet LTS: update within the line', () => {
    expect(oidcProviderRuntimeNote('22.3.0')).toContain('not an LTS release yet');
    expect(oidcProviderRuntimeNote('22.3.0')).toContain('update to the newest 22.x');
  });

  it('on a release Gatehouse does not support: the warning is right', () => {
    expect(oidcProviderRuntimeNote('25.1.0')).toContain('the oidc-provider warning above is right');
    expect(oidcProviderRuntimeNote('18.20.0')).toContain('not a release Gatehouse is tested on');
  });
});

describe('explainingRuntimeWarnings', () => {
  const warn = console.warn;
  const listeners = process.listeners('warning');
  afterEach(() => {
    console.warn = warn;
    for (const listener of process.listeners('warning'))
      if (!listeners.includes(listener)) process.off('warning', listener);
  });

  it("prints its line right after oidc-provider's warning, passes every warning on, and restores console.warn", async () => {
    const printed: string[] = [];
    console.warn = (line: string) => printed.push(`warn: ${line}`);
    const loaded = await explainingRuntimeWarnings(
      async () => {
        console.warn('something else');
        console.warn(
          'oidc-provider WARNING: Unsupported runtime. Use Node.js v22.x LTS, or a later LTS release.',
        );
        return 'module';
      },
      (line) => printed.push(line),
    );
    expect(loaded).toBe('module');
    expect(printed).toEqual([
      'warn: something else',
      'warn: oidc-provider WARNING: Unsupported runtime. Use Node.js v22.x LTS, or a later LTS release.',
      oidcProviderRuntimeNote(),
    ]);
    console.warn('later');
    expect(printed).toHaveLength(4);
  });

  it("explains node:sqlite's ExperimentalWarning once, and no other warning", async () => {
    const printed: string[] = [];
    await explainingRuntimeWarnings(
      async () => undefined,
      (line) => printed.push(line),
    );
    const experimental = (message: string) =>
      Object.assign(new Error(message), { name: 'ExperimentalWarning' }) as Error;
    process.emit('warning', experimental('Fetch is an experimental feature'));
    process.emit('warning', experimental('SQLite is an experimental feature and might change at any time'));
    process.emit('warning', experimental('SQLite is an experimental feature and might change at any time'));
    expect(printed).toEqual([nodeSqliteExperimentalNote()]);
  });
});
