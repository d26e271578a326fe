import { builtinModules } from "node:module";
import js from "@eslint/js";
import tseslint from "typescript-eslint";

// The layering: src/ is the shared core, free of I/O and of the programs around it; the controller (webhook,
// watcher) and the plugin (CLI, TUI) both build on it and never on each other.
const layer = (message, patterns) => ({
  "no-restricted-imports": ["error", { patterns: [{ group: patterns, message }] }],
});
// `outside`: the relative path that leaves src/ from a file at that depth.
const srcPure = (outside) =>
  layer("src/ is free of I/O and imports nothing outside src/", [
    "node:*",
    ...builtinModules.filter((m) => !m.startsWith("_")),
    outside,
  ]);

export default tseslint.config(
  {
    ignores: [
      "dist/",
      "dist.next.*/",
      "node_modules/",
      "oclif.manifest.json",
      "coverage/",
      ".image/",
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: "readonly",
        console: "readonly",
        Buffer: "readonly",
        URL: "readonly",
        setTimeout: "readonly",
        clearTimeout: "readonly",
        setInterval: "readonly",
        clearInterval: "readonly",
        setImmediate: "readonly",
        AbortController: "readonly",
        AbortSignal: "readonly",
        fetch: "readonly",
        TextEncoder: "readonly",
        TextDecoder: "readonly",
      },
    },
    rules: {
      "@typescript-eslint/no-unused-vars": [
        "error",
        { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none" },
      ],
      "@typescript-eslint/consistent-type-imports": "error",
      "no-console": ["error", { allow: ["error", "warn"] }],
    },
  },
  { files: ["src/*.ts"], rules: srcPure("../*") },
  { files: ["src/*/*.ts"], rules: srcPure("../../*") },
  {
    files: ["controller/**/*.ts", "controller/**/*.tsx"],
    rules: layer("the controller does not import the plugin", ["**/plugin/**"]),
  },
  {
    // store.ts loads the S3 store lazily; the stream helpers and types live apart, so the imports run one way.
    files: ["controller/watcher/s3-store.ts", "controller/watcher/core-stream.ts"],
    rules: layer("the stores' helpers do not import store.ts, nor the plugin", [
      "./store.js",
      "**/plugin/**",
    ]),
  },
  {
    files: ["plugin/**/*.ts", "plugin/**/*.tsx"],
    rules: layer("the plugin does not import the controller", ["**/controller/**"]),
  },
  {
    // The rig judges the product, so it does not match labels with the product's matcher; only the test that
    // compares the two imports it.
    files: ["test/rig/**/*.ts"],
    ignores: ["test/rig/**/*.test.ts"],
    rules: layer("the rig uses its own label selectors (test/rig/label-selector.ts)", [
      "**/src/label-selector*",
    ]),
  },
  {
    files: ["test/**", "scripts/**", "bin/**"],
    rules: { "no-console": "off" },
  },
);
