export { EXIT, main, pluginBases, preparePipeline } from "./cli.js";
