import "@testing-library/jest-dom/vitest";
import { cleanup, configure } from "@testing-library/react";
import { afterEach } from "vitest";
import { forgetConfirmations } from "../pages/ConfirmPage";

// findBy*/waitFor give up after 1 s by default, which the first render of a test file
// can exceed on a busy 2-core machine (the page itself waits on nothing but the mock).
configure({ asyncUtilTimeout: 5000 });

afterEach(() => {
  cleanup();
  forgetConfirmations();
  document.title = "";
});
