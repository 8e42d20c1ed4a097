#!/usr/bin/env node
import { explainingRuntimeWarnings } from './runtime-warnings.js';

// The rest of the CLI is imported only now, so that Gatehouse can explain the runtime warnings its
// libraries print while they load (see runtime-warnings.ts).
const { runCli } = await explainingRuntimeWarnings(() => import('./run.js'));

runCli(process.argv.slice(2)).then(
  (code) => {
    if (code !== undefined) process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  },
);
