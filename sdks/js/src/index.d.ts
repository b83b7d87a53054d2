export * from "./credentials.js";
export * from "./errors.js";
export * from "./client.js";
