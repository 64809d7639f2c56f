/** Version of @latentflow/encoders-image; part of every step's cache key and of every output space's producer. */
export const VERSION = "0.1.0";
