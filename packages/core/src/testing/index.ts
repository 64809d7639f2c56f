export { codeOf, errorOf, rejectionOf } from "./errors.js";
