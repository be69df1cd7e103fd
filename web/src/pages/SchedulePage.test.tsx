import { screen, waitFor, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { LOGGED_IN, mockApi, problem, validation } from "../test/mockApi";
import { renderApp } from "../test/renderApp";

const PREFS = {
  time_zone: "America/New_York",
  send_time: "07:30",
  days: "weekdays",
  paused: false,
  include_news: true,
  include_earnings: true,
  next_send_at: "2026-11-23T12:30:00Z",
};

function setup(prefs: Partial<typeof PREFS> = {}) {
  const server = mockApi({ ...LOGGED_IN, "GET /api/v1/preferences": { body: { ...PREFS, ...prefs } } });
  const utils = renderApp("/schedule");
  return { server, ...utils };
}

describe("schedule", () => {
  it("shows the saved schedule and the next digest in the person's zone", async () => {
    setup();
    const zone = await screen.findByRole("combobox", { name: "Time zone" });
    expect(zone).toHaveValue("America/New_York");
    expect(screen.getByLabelText("Send time")).toHaveValue("07:30");
    const days = screen.getByRole("group", { name: "Days" });
    expect(within(days).getByLabelText("Weekdays")).toBeChecked();
    expect(within(days).getByLabelText("Every day")).not.toBeChecked();
    expect(within(days).getByLabelText("Trading days")).not.toBeChecked();
    expect(screen.getByLabelText("Pause digests")).not.toBeChecked();
    const content = screen.getByRole("group", { name: "Content" });
    expect(within(content).getByLabelText("Include news")).toBeChecked();
    expect(within(content).getByLabelText("Include earnings")).toBeChecked();
    // 12:30 UTC is 07:30 in New York.
    expect(screen.getByText(/Next digest:/)).toHaveTextContent(/07:30.*America\/New_York/);
    // Not UTC any more: no offer to switch.
    expect(screen.queryByRole("button", { name: /Use my time zone/ })).not.toBeInTheDocument();
  });

  it("keeps everything typed when a save fails, with the field error next to its field", async () => {
    const { user, server } = setup();
    server.on(
      "PATCH /api/v1/preferences",
      validation([{ field: "send_time", message: "is not a time of day (HH:MM)" }]),
    );
    const zone = await screen.findByRole("combobox", { name: "Time zone" });
    await user.clear(zone);
    await user.type(zone, "Tokyo");
    await user.click(await screen.findByRole("option", { name: "Asia/Tokyo" }));
    expect(zone).toHaveValue("Asia/Tokyo");
    const time = screen.getByLabelText("Send time");
    await user.clear(time);
    await user.type(time, "06:45");
    await user.click(screen.getByLabelText("Trading days"));
    await user.click(screen.getByLabelText("Include news"));
    await user.click(screen.getByRole("button", { name: "Save" }));

    await waitFor(() => expect(time).toHaveAttribute("aria-invalid", "true"));
    expect(time).toHaveAccessibleDescription(/is not a time of day \(HH:MM\)/);
    expect(time).toHaveFocus();
    expect(zone).toHaveValue("Asia/Tokyo");
    expect(time).toHaveValue("06:45");
    expect(screen.getByLabelText("Trading days")).toBeChecked();
    expect(screen.getByLabelText("Include news")).not.toBeChecked();
    expect(screen.getByRole("status")).not.toHaveTextContent("Saved");
    expect(server.callsTo("PATCH /api/v1/preferences")[0]?.body).toEqual({
      time_zone: "Asia/Tokyo",
      send_time: "06:45",
      days: "trading_days",
      paused: false,
      include_news: false,
      include_earnings: true,
    });

    // Another failure, without field errors: an alert near the button.
    server.on("PATCH /api/v1/preferences", problem(503, "unavailable", "The database is not reachable."));
    await user.click(screen.getByRole("button", { name: "Save" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("The database is not reachable.");
    expect(time).toHaveValue("06:45");
    expect(zone).toHaveValue("Asia/Tokyo");
  });

  it("says Saved and shows the new next digest after a save", async () => {
    const { user, server } = setup();
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    server.on("PATCH /api/v1/preferences", async (call) => {
      await held;
      return {
        body: {
          ...PREFS,
          ...(call.body as object),
          next_send_at: "2026-11-24T05:45:00Z",
        },
      };
    });
    await screen.findByRole("combobox", { name: "Time zone" });
    const time = screen.getByLabelText("Send time");
    await user.clear(time);
    await user.type(time, "00:45");
    await user.click(screen.getByRole("button", { name: "Save" }));
    expect(await screen.findByRole("button", { name: "Saving…" })).toBeDisabled();
    release();
    expect(await screen.findByRole("status")).toHaveTextContent("Saved");
    expect(screen.getByText(/Next digest:/)).toHaveTextContent(/(00:45|12:45 AM).*America\/New_York/);
  });

  it("offers the browser's zone while the account is still on UTC", async () => {
    const { user, server } = setup({ time_zone: "UTC" });
    server.on("PATCH /api/v1/preferences", (call) => ({ body: { ...PREFS, ...(call.body as object) } }));
    const use = await screen.findByRole("button", { name: "Use my time zone (Europe/Paris)" });
    await user.click(use);
    expect(screen.getByRole("combobox", { name: "Time zone" })).toHaveValue("Europe/Paris");
    await user.click(screen.getByRole("button", { name: "Save" }));
    expect(await screen.findByRole("status")).toHaveTextContent("Saved");
    expect(server.callsTo("PATCH /api/v1/preferences")[0]?.body).toMatchObject({ time_zone: "Europe/Paris" });
  });

  it("finds time zones by city with the keyboard", async () => {
    const { user } = setup();
    const zone = await screen.findByRole("combobox", { name: "Time zone" });
    await user.clear(zone);
    await user.type(zone, "los ang");
    await user.keyboard("{ArrowDown}{Enter}");
    expect(zone).toHaveValue("America/Los_Angeles");
    expect(zone).toHaveAttribute("aria-expanded", "false");
  });
});
