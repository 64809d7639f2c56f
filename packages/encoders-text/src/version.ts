/** Version of @latentflow/encoders-text; part of every step's cache key and of every output space's producer. */
export const VERSION = "0.1.0";
