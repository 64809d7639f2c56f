/** Version of @latentflow/multimodal; part of every joint space's producer. */
export const VERSION = "0.1.0";
