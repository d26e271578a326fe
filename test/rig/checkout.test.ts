import { chmodSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { checkoutReachable } from "./index.js";

const dir = mkdtempSync(join(tmpdir(), "rig-checkout-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("the checkout the CoreDog image runs", () => {
  it("must be reachable by non-root pods, or the rig says which directory to open", () => {
    const checkout = join(dir, "clone");
    mkdirSync(checkout);
    chmodSync(dir, 0o700);
    expect(() => checkoutReachable(checkout)).toThrow(`chmod o+x ${dir}`);
    chmodSync(dir, 0o711);
    expect(() => checkoutReachable(checkout)).not.toThrow();
  });

  it("holds for this checkout", () => {
    expect(() => checkoutReachable()).not.toThrow();
  });
});
