export * from "./credentials.js";
export * from "./errors.js";
