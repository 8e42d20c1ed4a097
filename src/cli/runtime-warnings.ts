/**
 * Two libraries Gatehouse runs on warn about the runtime on their own, in words that read as if
 * Gatehouse were on an unsupported Node.js. Their lines are left as they are (hiding them would
 * also hide what they may say on a runtime Gatehouse does not support), and Gatehouse prints its
 * own line right after each one, saying what it means here:
 * - oidc-provider writes `oidc-provider WARNING: Unsupported runtime…` with console.warn when it is
 *   imported on a Node.js older than 22 LTS (or not an LTS release at all).
 * - Node.js 22 (and early 24.x releases, such as 24.0) emit an ExperimentalWarning when
 *   node:sqlite, Gatehouse's default SQLite driver there, is first loaded. Current 24 LTS releases
 *   (24.21) no longer do.
 */

/** Node.js release lines Gatehouse supports and tests; the last one is recommended. */
export const SUPPORTED_NODE_MAJORS = [20, 22, 24] as const;
export const RECOMMENDED_NODE_MAJOR = 24;

const SUPPORTED = 'Gatehouse supports Node.js 20.19+, 22 LTS and 24 LTS (recommended)';

function majorOf(version: string): number {
  return Number(version.split('.')[0]);
}

export function oidcProviderRuntimeNote(version = process.versions.node): string {
  const node = `Node.js ${version}`;
  const major = majorOf(version);
  if (major === 20)
    return (
      `Gatehouse: the oidc-provider warning above states that library's own minimum, Node.js 22 LTS. ${SUPPORTED}; ` +
      `its full test suite passes on Node.js 20. Node.js 20 reached its end of life in April 2026: move to ` +
      `Node.js ${RECOMMENDED_NODE_MAJOR} LTS when you can.`
    );
  if ((SUPPORTED_NODE_MAJORS as readonly number[]).includes(major))
    return `Gatehouse: oidc-provider warns because ${node} is not an LTS release yet. ${SUPPORTED}: update to the newest ${major}.x.`;
  return `Gatehouse: the oidc-provider warning above is right: ${node} is not a release Gatehouse is tested on. ${SUPPORTED}.`;
}

export function nodeSqliteExperimentalNote(version = process.versions.node): string {
  return (
    `Gatehouse: the ExperimentalWarning above is Node.js ${majorOf(version)} marking its built-in SQLite ` +
    '(node:sqlite) as experimental. Gatehouse stores its data with it on this Node.js, and passes its ' +
    `full storage test suite on it; current Node.js ${RECOMMENDED_NODE_MAJOR} LTS releases print no such warning ` +
    '(docs/storage.md, "SQLite on each Node.js version").'
  );
}

const OIDC_PROVIDER_WARNING = 'oidc-provider WARNING: Unsupported runtime';

/**
 * Runs `load` (the dynamic import of the CLI, which imports oidc-provider) while watching
 * console.warn for oidc-provider's runtime warning, and watches process warnings from then on for
 * node:sqlite's. Every warning is still printed as its library wrote it.
 */
export async function explainingRuntimeWarnings<T>(
  load: () => Promise<T>,
  say: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
): Promise<T> {
  watchProcessWarnings(say);
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    warn.apply(console, args);
    if (typeof args[0] === 'string' && args[0].includes(OIDC_PROVIDER_WARNING))
      say(oidcProviderRuntimeNote());
  };
  try {
    return await load();
  } finally {
    console.warn = warn;
  }
}

function watchProcessWarnings(say: (line: string) => void): void {
  if (warningsSilenced()) return;
  let explained = false;
  // Listeners run in the order they were added, so this line comes after Node's own printout.
  process.on('warning', (warning) => {
    if (explained || warning.name !== 'ExperimentalWarning' || !/\bSQLite\b/.test(warning.message)) return;
    explained = true;
    say(nodeSqliteExperimentalNote());
  });
}

/** Node prints no warnings at all with --no-warnings or NODE_NO_WARNINGS=1: nothing to explain. */
function warningsSilenced(): boolean {
  const options = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)];
  return (
    process.env.NODE_NO_WARNINGS === '1' ||
    options.includes('--no-warnings') ||
    options.some((option) => /^--disable-warning=ExperimentalWarning$/.test(option))
  );
}
