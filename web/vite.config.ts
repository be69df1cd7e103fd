/// <reference types="vitest/config" />
import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// The backend (`quotidian serve`) listens on 127.0.0.1:8080 by default.
const backend = process.env.QUOTIDIAN_API_URL ?? "http://127.0.0.1:8080";

export default defineConfig({
  plugins: [react()],
  server: {
    proxy: {
      "/api": backend,
      "/unsubscribe": backend,
      "/openapi.json": backend,
    },
  },
  build: {
    outDir: "dist",
    sourcemap: true,
  },
  test: {
    environment: "jsdom",
    globals: true,
    include: ["src/**/*.test.{ts,tsx}"],
    exclude: ["e2e/**", "node_modules/**", "dist/**"],
    setupFiles: ["src/test/setup.ts"],
    restoreMocks: true,
    // Modest on a shared 2-core machine.
    maxWorkers: 2,
    env: { TZ: "Europe/Paris" },
  },
});
