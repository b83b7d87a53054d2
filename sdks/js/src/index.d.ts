export * from "./credentials.js";
export * from "./errors.js";
export * from "./client.js";
export * from "./spectator.js";
export * from "./odyssey-compat.js";
export * from "./frame-marker.js";
