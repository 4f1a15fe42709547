// Must NOT type-check (test/core/api-types.test.js): 'f16' is not a dtype, on line 4 and 7.
import { Segment, type CreateOptions } from 'shmswarm';

export const seg = Segment.create('/bad', { rows: 1, cols: 1, dtype: 'f16' });

// The options type alone refuses it too.
export const options: CreateOptions = { rows: 1, cols: 1, dtype: 'f16' };
