import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Runs @modelcontextprotocol/conformance through npx, on Node 22 (the CLI does not load on Node 20:
 * it imports `globSync` from `fs`). npx installs both packages from the npm registry into its cache
 * on the first run and puts their binaries on PATH, so the CLI's `#!/usr/bin/env node` finds Node 22.
 */
export const CONFORMANCE = {
  /** The line with the authorization-server scenarios. */
  authorization: '@modelcontextprotocol/conformance@0.2.0-alpha.12',
  /** The line whose server scenarios the expected-failures file is written for. */
  server: '@modelcontextprotocol/conformance@0.1.16',
  /**
   * The line with frozen requirement sets: `server --requirements 2025-11-25` runs the 2025-11-25
   * set on the stateful wire (initialize handshake, sessions), `--requirements 2026-07-28` the
   * 2026-07-28 set on the stateless wire (`_meta` envelope on every request).
   */
  requirements: '@modelcontextprotocol/conformance@0.2.0-alpha.12',
} as const;

export const EXPECTED_FAILURES = fileURLToPath(new URL('./expected-failures.yml', import.meta.url));

export const BROWSER_SCRIPT = fileURLToPath(
  new URL('../e2e/fixtures/submit-forms-browser.mjs', import.meta.url),
);

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface Check {
  id: string;
  name: string;
  status: 'SUCCESS' | 'FAILURE' | 'WARNING' | 'INFO' | 'SKIPPED';
  errorMessage?: string;
}

/**
 * Runs the conformance CLI of `pkg` with `args`; `onLine` sees each line it prints on stdout as it
 * comes. Resolves when the CLI exits.
 */
export function runConformance(
  pkg: string,
  args: readonly string[],
  onLine: (line: string, child: ChildProcess) => void = () => {},
): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn('npx', ['-y', '-p', 'node@22', '-p', pkg, '--', 'conformance', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' },
    });
    let stdout = '';
    let stderr = '';
    let partial = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      partial += chunk;
      const lines = partial.split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) onLine(line.trimEnd(), child);
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/**
 * The checks the CLI wrote with `-o dir`, by scenario: it writes one directory per scenario,
 * `<prefix><scenario>-<timestamp>/checks.json`.
 */
export function readChecks(outputDir: string, prefix: string): Map<string, Check[]> {
  const results = new Map<string, Check[]>();
  for (const entry of readdirSync(outputDir)) {
    if (!entry.startsWith(prefix)) continue;
    const scenario = entry.slice(prefix.length).replace(/-\d{4}-\d{2}-\d{2}T[\d-]+Z$/, '');
    const checks = JSON.parse(readFileSync(path.join(outputDir, entry, 'checks.json'), 'utf8')) as Check[];
    results.set(scenario, checks);
  }
  return results;
}

/** Whether a scenario failed, as the CLI counts it against an expected-failures file. */
export function failed(checks: readonly Check[]): boolean {
  return checks.some((check) => check.status === 'FAILURE' || check.status === 'WARNING');
}

/**
 * The scenario names listed under `key` in the expected-failures file. The file is the CLI's own
 * format (`server:` and `client:` lists, which it reads itself); the `authorization:` list is read
 * only here, since the CLI's `authorization` command takes no baseline. The file is kept to plain
 * lists of names with comments, which is all this reads.
 */
export function expectedFailures(key: string, file = EXPECTED_FAILURES): string[] {
  const names: string[] = [];
  let current: string | undefined;
  for (const raw of readFileSync(file, 'utf8').split('\n')) {
    const line = raw.replace(/#.*$/, '').trimEnd();
    if (line.trim() === '') continue;
    const top = /^([A-Za-z][\w-]*):\s*(\[\])?$/.exec(line);
    if (top) {
      current = top[1];
      continue;
    }
    const item = /^\s+-\s+([\w/.-]+)$/.exec(line);
    if (!item) throw new Error(`${file}: cannot read the line ${JSON.stringify(raw)}`);
    if (current === key) names.push(item[1]!);
  }
  return names;
}

/** Scenarios that failed without being expected to, and expected failures that passed. */
export function compareWithBaseline(
  results: Map<string, Check[]>,
  expected: readonly string[],
): { unexpectedFailures: string[]; staleEntries: string[] } {
  const unexpectedFailures: string[] = [];
  const staleEntries: string[] = [];
  for (const [scenario, checks] of results) {
    const listed = expected.includes(scenario);
    if (failed(checks) && !listed) unexpectedFailures.push(scenario);
    if (!failed(checks) && listed) staleEntries.push(scenario);
  }
  return { unexpectedFailures, staleEntries };
}

/** The CLI's output without its per-scenario progress lines: the results and the baseline verdict. */
export function summary(stdout: string): string {
  return stdout
    .split('\n')
    .filter((line) => !/^(=== Running scenario|Running client scenario|Results saved to)/.test(line))
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .slice(-8000);
}

/** A scenario's outcome, as the CLI counts it: any FAILURE or WARNING check fails it. */
export type ScenarioOutcome = 'pass' | 'fail';

export interface ServerSuiteRun {
  /** Every scenario that ran, with its outcome. */
  outcomes: Map<string, ScenarioOutcome>;
  /** The checks each scenario wrote. */
  checks: Map<string, Check[]>;
  run: CliRun;
  /** The CLI's exit code, summary and the failing checks, for assertion messages. */
  report: string;
}

/**
 * Runs the `server` command of `pkg` against the MCP endpoint `url` (`extraArgs` for example
 * `['--requirements', '2026-07-28']` or `['--scenario', 'ping']`) and reads back what every scenario
 * did. The results go to a temporary directory, removed afterwards.
 */
export async function runServerSuite(
  pkg: string,
  url: string,
  extraArgs: readonly string[] = [],
): Promise<ServerSuiteRun> {
  const outputDir = mkdtempSync(path.join(tmpdir(), 'gatehouse-conformance-suite-'));
  try {
    const run = await runConformance(pkg, ['server', '--url', url, '-o', outputDir, ...extraArgs]);
    const checks = readChecks(outputDir, 'server-');
    const outcomes = new Map<string, ScenarioOutcome>(
      [...checks].map(([scenario, list]) => [scenario, failed(list) ? 'fail' : 'pass']),
    );
    const failing = [...checks].flatMap(([scenario, list]) =>
      list
        .filter((check) => check.status === 'FAILURE' || check.status === 'WARNING')
        .map((check) => `  ${scenario} ${check.id} ${check.status}: ${check.errorMessage ?? ''}`),
    );
    const report =
      `conformance ${['server', ...extraArgs].join(' ')} exited ${run.code}\n${summary(run.stdout)}\n` +
      `${failing.length > 0 ? `failing checks:\n${failing.join('\n')}\n` : ''}${run.stderr.slice(-2000)}`;
    return { outcomes, checks, run, report };
  } finally {
    rmSync(outputDir, { recursive: true, force: true });
  }
}

/**
 * The outcome of every server scenario of `pkg` run against `url`: the map another test compares
 * between two endpoints (e.g. an upstream directly and through Gatehouse's /mcp/{server}).
 */
export async function serverScenarioResults(
  pkg: string,
  url: string,
  extraArgs: readonly string[] = [],
): Promise<Map<string, ScenarioOutcome>> {
  return (await runServerSuite(pkg, url, extraArgs)).outcomes;
}

/**
 * The server scenarios `conformance list --server` names, e.g. with `['--requirements', '2026-07-28']`
 * the scenarios that revision requires (not the ones it runs without scoring).
 */
export async function listServerScenarios(pkg: string, extraArgs: readonly string[] = []): Promise<string[]> {
  const run = await runConformance(pkg, ['list', '--server', ...extraArgs]);
  if (run.code !== 0) throw new Error(`conformance list exited ${run.code}: ${run.stderr.slice(-2000)}`);
  const names: string[] = [];
  let inServerSection = false;
  for (const line of run.stdout.split('\n')) {
    if (/^Server scenarios/.test(line)) inServerSection = true;
    else if (/^\S/.test(line)) inServerSection = false;
    const item = inServerSection ? /^\s+-\s+(\S+)/.exec(line) : null;
    if (item) names.push(item[1]!);
  }
  return names;
}
