export * from "./frames.js";
export * from "./backoff.js";
export * from "./client.js";
