import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

describe("runtime", () => {
  it("runs on the Node.js that package.json pins", () => {
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8"));
    expect(process.version).toBe(`v${pkg.devDependencies.node}`);
  });

  it("pins every dependency to an exact version", () => {
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8"));
    for (const deps of [pkg.dependencies, pkg.devDependencies]) {
      for (const [name, version] of Object.entries(deps as Record<string, string>)) {
        expect(version, name).toMatch(/^\d+\.\d+\.\d+$/);
      }
    }
  });
});
