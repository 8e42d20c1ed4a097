// Rewrites the generated tables in docs/ from the code that defines them.
import { readFileSync, writeFileSync } from 'node:fs';
import { renderVariablesTable, TABLE_END, TABLE_START } from '../src/config/docs-table.js';
import { ERRORS_END, ERRORS_START, renderErrorsTable } from '../src/errors/docs-table.js';

function rewrite(doc: string, start: string, end: string, table: string) {
  const file = new URL(`../docs/${doc}`, import.meta.url);
  const text = readFileSync(file, 'utf8');
  const from = text.indexOf(start);
  const to = text.indexOf(end);
  if (from < 0 || to < from) throw new Error(`docs/${doc} has lost its table markers`);
  writeFileSync(file, `${text.slice(0, from + start.length)}\n${table}\n${text.slice(to)}`);
  console.log(`docs/${doc} updated`);
}

rewrite('configuration.md', TABLE_START, TABLE_END, renderVariablesTable());
rewrite('errors.md', ERRORS_START, ERRORS_END, renderErrorsTable());
