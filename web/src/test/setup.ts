import "@testing-library/jest-dom/vitest";
import { cleanup } from "@testing-library/react";
import { afterEach } from "vitest";
import { forgetConfirmations } from "../pages/ConfirmPage";

afterEach(() => {
  cleanup();
  forgetConfirmations();
  document.title = "";
});
