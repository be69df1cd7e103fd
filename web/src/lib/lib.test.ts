import { describe, expect, it } from "vitest";
import { ApiProblem } from "../api/problem";
import { formErrors } from "./formErrors";
import { allTimeZones, browserTimeZone, searchTimeZones } from "./timezones";
import { returnPath } from "../auth/RequireAuth";

function validationProblem(errors: { field: string; message: string }[]) {
  return new ApiProblem({
    type: "urn:quotidian:problem:validation",
    title: "Your request has invalid fields",
    status: 422,
    detail: errors.map((e) => `${e.field}: ${e.message}`).join("; "),
    errors,
  });
}

describe("formErrors", () => {
  it("puts field errors on the form's fields and the rest in the alert", () => {
    const out = formErrors(
      validationProblem([
        { field: "email", message: "is not valid" },
        { field: "time_zone", message: "is unknown" },
      ]),
      ["email", "password"] as const,
    );
    expect(out.fields).toEqual({ email: "is not valid" });
    expect(out.form).toBe("time zone: is unknown");
  });

  it("has no alert when every error has its field", () => {
    const out = formErrors(validationProblem([{ field: "email", message: "is not valid" }]), ["email"] as const);
    expect(out.form).toBeNull();
  });

  it("shows the detail of other problems", () => {
    const p = new ApiProblem({ type: "urn:quotidian:problem:invalid-credentials", title: "x", status: 401, detail: "Wrong." });
    expect(formErrors(p, ["email"] as const)).toEqual({ fields: {}, form: "Wrong." });
    expect(formErrors(null, ["email"] as const)).toEqual({ fields: {}, form: null });
  });
});

describe("time zones", () => {
  it("knows the browser's zone and offers UTC", () => {
    expect(browserTimeZone()).toBe("Europe/Paris"); // TZ set in vite.config.ts
    expect(allTimeZones()).toContain("UTC");
    expect(allTimeZones()).toContain("America/New_York");
  });

  it("finds zones by city, spaces or underscores, cities first", () => {
    const zones = allTimeZones();
    expect(searchTimeZones("new york", zones)[0]).toBe("America/New_York");
    expect(searchTimeZones("PARIS", zones)).toEqual(["Europe/Paris"]);
    expect(searchTimeZones("europe/", zones).every((z) => z.startsWith("Europe/"))).toBe(true);
    expect(searchTimeZones("", zones, 5)).toHaveLength(5);
    expect(searchTimeZones("zzz", zones)).toEqual([]);
  });
});

describe("returnPath", () => {
  it("returns to paths of this app only", () => {
    expect(returnPath({ from: "/history/3?x=1" })).toBe("/history/3?x=1");
    expect(returnPath({ from: "//evil.example" })).toBe("/watchlist");
    expect(returnPath({ from: "https://evil.example" })).toBe("/watchlist");
    expect(returnPath({ from: "/login" })).toBe("/watchlist");
    expect(returnPath(null)).toBe("/watchlist");
  });
});
