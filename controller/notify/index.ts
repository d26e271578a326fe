// The notifier shared by the watcher (core notices) and the webhook (alerts).
export * from "./payloads.js";
export * from "./redact.js";
export * from "./send.js";
export * from "./notifier.js";
