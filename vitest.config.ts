import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts", "test/**/*.test.tsx"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: "forks",
    // CoreDog's image, which the rig runs CoreDog's pods from (npm run image, cached).
    globalSetup: ["test/setup/image.ts"],
    reporters: ["default"],
  },
});
