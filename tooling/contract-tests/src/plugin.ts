// Fleet workers load plugins by package name: `--plugins @latentflow/contract-tests/plugin`.
export { contractPlugin as plugin } from "./test-plugin.js";
