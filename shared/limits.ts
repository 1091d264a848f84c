/** Limits on what one job may ask for, shared by the job schema and the CLI (which must not load the schema to check them). */

/** Shots when a job does not say. */
export const DEFAULT_SHOTS = 1024;

/** Most shots one job or `qpipe simulate` may ask for. */
export const MAX_SHOTS = 100_000;

/** Largest manifest file read at once (QPIPE_MAX_MANIFEST_BYTES): YAML takes about 40 times its size to parse. */
export const DEFAULT_MAX_MANIFEST_BYTES = 16 * 1024 * 1024;
