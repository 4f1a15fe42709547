// Bundles the compiled CLI (dist/cli/index.js and everything it imports) into one CommonJS file,
// dist/cli/shmswarm.cjs, which bin/shmswarm loads. Node 20 starts a CommonJS program about 30 ms
// sooner than the same code as ES modules (the ES module loader itself is most of it): `shmswarm
// info` went from about 1.55x to 1.3x the time of `node -e 0` (docs/PERFORMANCE.md, change 16).
// The library (dist/core) stays ES modules; this file is for the command line only.
//
// Where esbuild cannot run (an install with --omit=optional has no esbuild binary), the CLI runs
// from dist/ as ES modules: bin/shmswarm falls back to them when there is no bundle, so a
// missing esbuild is a warning, and an older bundle is removed rather than left to run stale
// code. Code that esbuild refuses fails the build.
import { rmSync } from 'node:fs';

const OUT = 'dist/cli/shmswarm.cjs';

try {
  const { build } = await import('esbuild');
  await build({
    entryPoints: ['dist/cli/index.js'],
    outfile: OUT,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    // The addon is found at run time, relative to the module asking (import.meta.url below).
    // commander and cli-table3 are CommonJS already: Node loads them as they are, each in its own
    // strict or sloppy mode. chalk is bundled: it is an ES module, which Node 20 cannot require().
    // The heavy libraries (recording, the NATS bridge, serve's WebSocket) are loaded from
    // node_modules, and only by the commands that use them.
    external: ['*.node', 'commander', 'cli-table3', 'ws', 'nats', 'apache-arrow', 'apache-arrow/*', '@mcap/core', '@foxglove/cdr'],
    // Every module of the bundle gets the bundle's own URL: sources that find files through
    // import.meta.url must sit two levels under the package root, as dist/cli/shmswarm.cjs does
    // (dist/core/binding.js, dist/cli/paths.js).
    define: { 'import.meta.url': '__shmswarm_bundle_url' },
    // ES modules are strict mode; the bundle must be too, and a directive counts only first.
    banner: { js: `"use strict";\nconst __shmswarm_bundle_url = require('node:url').pathToFileURL(__filename).href;` },
    // The capabilities built on the core (recording, the NATS bridge, serve) stay out of the
    // bundle: they doubled it (241 → 478 kB), and parsing it is part of every command's start-up.
    // Their commands import them dynamically; those imports load them from dist/ as ES modules,
    // with their own instances of the core's modules (errors are recognised by name and code,
    // not by class, for that reason: isShmswarmError).
    plugins: [{
      name: 'capabilities-outside-the-bundle',
      setup(b) {
        b.onResolve({ filter: /^\.\.\/\.\.\/(record|bridge|serve)\/[^/]+\.js$/ }, (args) =>
          args.kind === 'dynamic-import' ? { path: args.path.slice('../'.length), external: true } : undefined);
      },
    }],
    logLevel: 'warning',
  });
} catch (e) {
  rmSync(OUT, { force: true });
  if (Array.isArray(e?.errors)) {
    // esbuild ran and printed why the code did not bundle: a bug to fix, not a missing tool.
    process.exitCode = 1;
  } else {
    const why = String(e?.message ?? e).split('\n')[0];
    process.stderr.write(`bundle-cli: the CLI was not bundled (${why}); it runs from dist/ as ES modules, about 30 ms slower to start\n`);
  }
}
