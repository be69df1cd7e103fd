// ESLint for the web page: `npm run lint` (scripts/test runs it, warnings included).
// typescript-eslint's recommended rules, and the React hooks rules: the rules of hooks,
// exhaustive effect dependencies, and the React Compiler's checks (no setState straight
// in an effect, no ref read during render, pure renders...).
import js from "@eslint/js";
import reactHooks from "eslint-plugin-react-hooks";
import { defineConfig, globalIgnores } from "eslint/config";
import globals from "globals";
import tseslint from "typescript-eslint";

export default defineConfig([
  // Generated (src/api/schema.d.ts: npm run gen:api) or built files.
  globalIgnores(["dist/", "e2e/artifacts/", "src/api/schema.d.ts"]),
  {
    files: ["**/*.{js,ts,tsx}"],
    extends: [js.configs.recommended, tseslint.configs.recommended],
    languageOptions: { ecmaVersion: 2023, globals: globals.browser },
  },
  {
    files: ["src/**/*.{ts,tsx}"],
    extends: [reactHooks.configs.flat.recommended],
  },
  // The browser tests and the tool configs run in Node.
  {
    files: ["e2e/**/*.ts", "*.config.{js,ts}"],
    languageOptions: { globals: globals.node },
  },
]);
