import { fileURLToPath } from 'node:url';

// Two levels under the package root, like dist/cli/shmswarm.cjs, the bundle that shares one
// import.meta.url among all its modules (scripts/bundle-cli.mjs): keep it there.
/** bin/shmswarm of this package, for commands that start another shmswarm process. */
export const BIN_PATH = fileURLToPath(new URL('../../bin/shmswarm', import.meta.url));
/** examples/julia/shmswarm_reader.jl of this package, named by `info --julia` for raw objects with a mutex. */
export const JULIA_READER_PATH = fileURLToPath(new URL('../../examples/julia/shmswarm_reader.jl', import.meta.url));
