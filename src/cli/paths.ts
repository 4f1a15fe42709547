import { fileURLToPath } from 'node:url';

// Two levels under the package root, like dist/cli/shmswarm.cjs, the bundle that shares one
// import.meta.url among all its modules (scripts/bundle-cli.mjs): keep it there.
/** bin/shmswarm of this package, for commands that start another shmswarm process. */
export const BIN_PATH = fileURLToPath(new URL('../../bin/shmswarm', import.meta.url));
