// Bundles the page of `shmswarm serve` (src/serve/page: TypeScript, uPlot, CSS) into
// dist/serve/page/{index.html, app.js, app.css}, which the server reads at start: the page
// loads nothing from anywhere else. Type-checked before (tsc -p src/serve/page), since esbuild
// only strips types.
//
// Where esbuild cannot run (npm ci --omit=optional), the page is left out with a warning:
// serve's JSON, CSV and .npy endpoints work without it, and the page answers 503 saying so.
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';

const OUT = 'dist/serve/page';

try {
  const { build } = await import('esbuild');
  mkdirSync(OUT, { recursive: true });
  const common = { bundle: true, minify: true, logLevel: 'warning', legalComments: 'none' };
  await build({ ...common, entryPoints: ['src/serve/page/main.ts'], outfile: `${OUT}/app.js`, platform: 'browser', format: 'iife', target: 'es2022' });
  await build({ ...common, entryPoints: ['src/serve/page/style.css'], outfile: `${OUT}/app.css` });
  copyFileSync('src/serve/page/index.html', `${OUT}/index.html`);
} catch (e) {
  rmSync(OUT, { recursive: true, force: true });
  if (Array.isArray(e?.errors)) {
    process.exitCode = 1;
  } else {
    const why = String(e?.message ?? e).split('\n')[0];
    process.stderr.write(`bundle-page: the page of shmswarm serve was not built (${why}); serve's JSON, CSV and .npy endpoints work without it\n`);
  }
}
