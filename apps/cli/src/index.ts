export { EXIT, main, preparePipeline } from "./cli.js";
export { loadPlugins } from "./plugins.js";
