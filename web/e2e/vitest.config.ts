// The browser tests (npm run e2e): Node environment, one file at a time (they share one
// service and one SES mailbox), generous timeouts for a cold Chromium on 2 cores.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    root: import.meta.dirname,
    include: ["**/*.e2e.ts"],
    environment: "node",
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 60_000,
  },
});
