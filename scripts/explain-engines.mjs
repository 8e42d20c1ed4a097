// npm install / npm ci print "EBADENGINE Unsupported engine" for every installed package whose
// package.json asks for a newer Node.js than the one installing. On Node 20 a few of Gatehouse's
// dependencies do (they ask for 22+). Run from `prepare`, after those warnings, this names them
// again and says what they mean for Gatehouse, so a supported runtime's install has no
// unexplained "unsupported" line. Prints nothing when every engine is satisfied.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
let semver;
try {
  semver = createRequire(path.join(root, 'package.json'))('semver');
} catch {
  process.exit(0); // an install without the dev dependencies that bring semver: nothing to compare with
}

function* packageDirs(modules) {
  if (!existsSync(modules)) return;
  for (const entry of readdirSync(modules, { withFileTypes: true })) {
    if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
    const dir = path.join(modules, entry.name);
    if (entry.name.startsWith('@')) {
      for (const scoped of readdirSync(dir, { withFileTypes: true }))
        if (scoped.isDirectory()) yield* packageAndNested(path.join(dir, scoped.name));
    } else {
      yield* packageAndNested(dir);
    }
  }
}

function* packageAndNested(dir) {
  yield dir;
  yield* packageDirs(path.join(dir, 'node_modules'));
}

const unmet = new Map();
for (const dir of packageDirs(path.join(root, 'node_modules'))) {
  let manifest;
  try {
    manifest = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8'));
  } catch {
    continue;
  }
  const range = manifest.engines?.node;
  if (typeof range !== 'string' || semver.validRange(range) === null) continue;
  if (!semver.satisfies(process.version, range)) unmet.set(`${manifest.name}@${manifest.version}`, range);
}

if (unmet.size > 0) {
  const own = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')).engines.node;
  const listed = [...unmet].map(([name, range]) => `${name} (node ${range})`).join(', ');
  const supported = semver.satisfies(process.version, own);
  console.warn(
    supported
      ? `Gatehouse: npm's EBADENGINE warnings above are about ${listed}: dependencies that ask for a newer ` +
          `Node.js than ${process.version}. They work on it: Gatehouse is tested on Node.js ${process.versions.node.split('.')[0]} ` +
          'with them. ' +
          'Gatehouse supports Node.js 20.19+, 22 LTS and 24 LTS (recommended).'
      : `Gatehouse: Node.js ${process.version} is not supported (Gatehouse needs ${own}); npm's EBADENGINE ` +
          `warnings above (${listed}) say the same. Use Node.js 24 LTS (recommended), 22 LTS or 20.19+.`,
  );
}
