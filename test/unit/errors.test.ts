import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERROR_CATALOGUE } from '../../src/errors/codes.js';
import { ERRORS_END, ERRORS_START, renderErrorsTable } from '../../src/errors/docs-table.js';

const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const full = path.join(dir, entry);
    return statSync(full).isDirectory() ? sourceFiles(full) : full.endsWith('.ts') ? [full] : [];
  });
}

describe('error catalogue', () => {
  it('is documented in docs/errors.md exactly (run npm run docs:generate)', () => {
    const table = doc.slice(doc.indexOf(ERRORS_START) + ERRORS_START.length, doc.indexOf(ERRORS_END)).trim();
    expect(table).toBe(renderErrorsTable());
  });

  it('has no code used in src/ that is missing from the catalogue', () => {
    const srcDir = path.resolve(new URL('../../src', import.meta.url).pathname);
    const used = new Set<string>();
    for (const file of sourceFiles(srcDir)) {
      for (const match of readFileSync(file, 'utf8').matchAll(/'(GH_[A-Z_]*[A-Z])'/g)) used.add(match[1]!);
    }
    const missing = [...used].filter((code) => !(code in ERROR_CATALOGUE));
    expect(missing).toEqual([]);
  });
});
