/** Version of @latentflow/indexers; part of every step's cache key. Kept in step with package.json by a test. */
export const VERSION = "0.1.0";
