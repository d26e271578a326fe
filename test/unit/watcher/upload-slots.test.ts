import { describe, expect, it } from "vitest";
import { UploadSlots } from "../../../controller/watcher/upload-slots.js";

const tick = () => new Promise((r) => setTimeout(r, 5));

describe("upload slots", () => {
  it("runs at most `concurrency` at once, keeps one slot for urgent cores, lets urgent waiters go first", async () => {
    const slots = new UploadSlots(1);
    const order: string[] = [];
    let running = 0;
    let peak = 0;
    const gates = new Map<string, () => void>();
    const job = (name: string, urgent: boolean) =>
      slots.run(async () => {
        running++;
        peak = Math.max(peak, running);
        order.push(name);
        await new Promise<void>((r) => gates.set(name, r));
        running--;
      }, urgent);
    const all = [job("a", false), job("b", false), job("c", true), job("d", false)];
    await tick();
    expect(order).toEqual(["a"]); // one slot: anyone may use it
    gates.get("a")!();
    await tick();
    expect(order).toEqual(["a", "c"]); // the urgent one passes b
    slots.concurrency = 3;
    await tick();
    expect(order).toEqual(["a", "c", "b"]); // the third slot is kept for urgent cores
    const e = job("e", true);
    await tick();
    expect(order).toEqual(["a", "c", "b", "e"]);
    for (const g of ["b", "c", "e"]) gates.get(g)!();
    await tick();
    expect(order).toEqual(["a", "c", "b", "e", "d"]);
    gates.get("d")!();
    await Promise.all([...all, e]);
    expect(peak).toBe(3);
    // a failing job frees its slot
    await expect(slots.run(() => Promise.reject(new Error("x")), false)).rejects.toThrow("x");
    await slots.run(async () => order.push("e"), false);
    expect(order.at(-1)).toBe("e");
  });
});
