// MNIST for the tests comes from the shared fixtures in @latentflow/contract-tests.
export { mnist, mnistDir, pixels } from "@latentflow/contract-tests/mnist";
