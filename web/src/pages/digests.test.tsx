import { screen, waitFor, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { LOGGED_IN, mockApi, problem } from "../test/mockApi";
import { renderApp } from "../test/renderApp";

const PREVIEW = {
  local_date: "2026-11-23",
  subject: "Quotidian Mon 23 Nov: NVDA +3.60%",
  html: "<!doctype html><p>Hello <b>NVDA</b></p>",
  text: "Your Quotidian digest\nNVDA +3.60%",
  sample_data: true,
};

function summary(id: number, local_date: string, extra: object = {}) {
  return {
    id,
    local_date,
    trigger: "schedule",
    status: "sent",
    queued_at: `${local_date}T12:30:00Z`,
    sent_at: `${local_date}T12:30:01Z`,
    subject: `Quotidian ${local_date}`,
    reason: null,
    ...extra,
  };
}

describe("preview", () => {
  it("shows the subject, a sandboxed frame, the sample data note and the text version", async () => {
    mockApi({ ...LOGGED_IN, "GET /api/v1/digests/preview": { body: PREVIEW } });
    const { user } = renderApp("/preview");
    expect(await screen.findByRole("heading", { level: 1, name: "Today's preview" })).toBeInTheDocument();
    expect(await screen.findByText("Quotidian Mon 23 Nov: NVDA +3.60%")).toBeInTheDocument();
    const frame = screen.getByTitle("Digest preview");
    expect(frame.tagName).toBe("IFRAME");
    expect(frame).toHaveAttribute("sandbox", "");
    expect(frame).toHaveAttribute("srcdoc", PREVIEW.html);
    expect(screen.getByText(/Sample market data/)).toBeInTheDocument();

    await user.click(screen.getByRole("button", { name: "Plain text" }));
    expect(screen.getByRole("region", { name: /plain text/ })).toHaveTextContent("NVDA +3.60%");
    expect(screen.queryByTitle("Digest preview")).not.toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Plain text" })).toHaveAttribute("aria-pressed", "true");
  });

  it("sends now: 'on its way' on 202, the detail on 409", async () => {
    const server = mockApi({
      ...LOGGED_IN,
      "GET /api/v1/digests/preview": { body: { ...PREVIEW, sample_data: false } },
      "POST /api/v1/digests/send-now": { status: 202, body: summary(9, "2026-11-23", { status: "pending", trigger: "send_now" }) },
    });
    const { user } = renderApp("/preview");
    await screen.findByTitle("Digest preview");
    expect(screen.queryByText(/Sample market data/)).not.toBeInTheDocument();

    await user.click(screen.getByRole("button", { name: "Send now" }));
    expect(await screen.findByRole("status")).toHaveTextContent(/on its way to ada@example.com/);

    server.on(
      "POST /api/v1/digests/send-now",
      problem(409, "already-exists", "Today's digest was already sent (status: sent)."),
    );
    await user.click(screen.getByRole("button", { name: "Send now" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("Today's digest was already sent (status: sent).");
    expect(screen.getByRole("status")).toBeEmptyDOMElement();
  });
});

describe("history", () => {
  it("lists digests with date links, status, subject and reason, and loads more", async () => {
    const server = mockApi({
      ...LOGGED_IN,
      "GET /api/v1/digests": (call) =>
        call.url.searchParams.get("before") === "2026-11-20"
          ? { body: { digests: [summary(3, "2026-11-19")], next_before: null } }
          : {
              body: {
                digests: [
                  summary(5, "2026-11-21"),
                  summary(4, "2026-11-20", { status: "skipped", subject: null, sent_at: null, reason: "paused" }),
                ],
                next_before: "2026-11-20",
              },
            },
    });
    const { user } = renderApp("/history");
    const link = await screen.findByRole("link", { name: /2026-11-21/ });
    expect(link).toHaveAttribute("href", "/history/5");
    const skipped = screen.getByRole("link", { name: /2026-11-20/ }).closest("li")!;
    expect(within(skipped).getByText("Skipped")).toBeInTheDocument();
    expect(within(skipped).getByText(/paused/)).toBeInTheDocument();
    expect(screen.getByText("Quotidian 2026-11-21")).toBeInTheDocument();

    await user.click(screen.getByRole("button", { name: "Load more" }));
    expect(await screen.findByRole("link", { name: /2026-11-19/ })).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Load more" })).not.toBeInTheDocument();
    expect(server.callsTo("GET /api/v1/digests")[1]?.url.searchParams.get("before")).toBe("2026-11-20");
  });

  it("says when there are no digests yet", async () => {
    mockApi({ ...LOGGED_IN, "GET /api/v1/digests": { body: { digests: [], next_before: null } } });
    renderApp("/history");
    expect(await screen.findByText(/No digests yet/)).toBeInTheDocument();
  });

  it("opens one digest as it was sent", async () => {
    mockApi({
      ...LOGGED_IN,
      "GET /api/v1/digests/5": {
        body: {
          ...summary(5, "2026-11-21"),
          recipient: "ada@example.com",
          html: "<p>As sent</p>",
          text: "As sent",
          content_hash: "abc",
          ses_message_id: "m-1",
        },
      },
    });
    renderApp("/history/5");
    expect(await screen.findByRole("heading", { level: 1, name: "Quotidian 2026-11-21" })).toBeInTheDocument();
    expect(screen.getByTitle("Digest as sent")).toHaveAttribute("sandbox", "");
    expect(screen.getByText("ada@example.com")).toBeInTheDocument();
    expect(screen.getByText("Sent", { selector: ".badge" })).toBeInTheDocument();
    expect(screen.getByRole("link", { name: "Back to history" })).toHaveAttribute("href", "/history");
  });

  it("says so when a digest does not exist", async () => {
    mockApi({ ...LOGGED_IN, "GET /api/v1/digests/77": problem(404, "not-found", "No such digest of yours.") });
    renderApp("/history/77");
    expect(await screen.findByRole("heading", { level: 1, name: "Digest not found" })).toBeInTheDocument();
    expect(screen.getByRole("alert")).toHaveTextContent("No such digest of yours.");
  });
});

describe("account", () => {
  it("changes the password, with field errors from a 422", async () => {
    const server = mockApi({
      ...LOGGED_IN,
      "PUT /api/v1/me/password": {
        status: 422,
        body: {
          type: "urn:quotidian:problem:validation",
          title: "Your request has invalid fields",
          status: 422,
          detail: "current_password: is not right",
          errors: [{ field: "current_password", message: "is not right" }],
        },
      },
    });
    const { user } = renderApp("/account");
    expect(await screen.findByText("ada@example.com")).toBeInTheDocument();
    await user.type(screen.getByLabelText("Current password"), "wrong");
    await user.type(screen.getByLabelText("New password"), "quiet-lantern-meadow-77");
    await user.click(screen.getByRole("button", { name: "Change password" }));
    const current = screen.getByLabelText("Current password");
    await waitFor(() => expect(current).toHaveAttribute("aria-invalid", "true"));
    expect(current).toHaveAccessibleDescription(/is not right/);
    expect(screen.getByLabelText("New password")).toHaveValue("quiet-lantern-meadow-77");

    server.on("PUT /api/v1/me/password", { status: 204 });
    await user.clear(current);
    await user.type(current, "velvet-harbor-oxide-42");
    await user.click(screen.getByRole("button", { name: "Change password" }));
    expect(await screen.findByRole("status")).toHaveTextContent(/Your password is changed/);
    expect(current).toHaveValue("");
  });

  it("asks for the password before deleting, then says goodbye", async () => {
    const server = mockApi({
      ...LOGGED_IN,
      "DELETE /api/v1/me": {
        status: 422,
        body: {
          type: "urn:quotidian:problem:validation",
          title: "Your request has invalid fields",
          status: 422,
          detail: "password: is not right",
          errors: [{ field: "password", message: "is not right" }],
        },
      },
    });
    const { user } = renderApp("/account");
    const open = await screen.findByRole("button", { name: "Delete account" });
    expect(open).toHaveAttribute("aria-expanded", "false");
    await user.click(open);
    expect(open).toHaveAttribute("aria-expanded", "true");
    const password = screen.getByLabelText("Password");
    expect(password).toHaveFocus();

    await user.click(screen.getByRole("button", { name: "Cancel" }));
    expect(screen.queryByLabelText("Password")).not.toBeInTheDocument();
    expect(open).toHaveFocus();

    await user.click(open);
    await user.type(screen.getByLabelText("Password"), "wrong");
    await user.click(screen.getByRole("button", { name: "Delete my account permanently" }));
    await waitFor(() => expect(screen.getByLabelText("Password")).toHaveAttribute("aria-invalid", "true"));
    expect(screen.getByLabelText("Password")).toHaveAccessibleDescription(/is not right/);

    server.on("DELETE /api/v1/me", { status: 204 });
    await user.clear(screen.getByLabelText("Password"));
    await user.type(screen.getByLabelText("Password"), "velvet-harbor-oxide-42");
    await user.click(screen.getByRole("button", { name: "Delete my account permanently" }));
    expect(await screen.findByRole("heading", { level: 1, name: "Create your account" })).toBeInTheDocument();
    expect(screen.getByRole("status")).toHaveTextContent(/deleted/);
    expect(server.callsTo("DELETE /api/v1/me").at(-1)?.body).toEqual({ password: "velvet-harbor-oxide-42" });
    expect(screen.queryByRole("navigation", { name: "Main" })).not.toBeInTheDocument();
  });

  it("logs out everywhere", async () => {
    mockApi({ ...LOGGED_IN, "DELETE /api/v1/me/sessions": { body: { revoked: 3 } } });
    const { user } = renderApp("/account");
    await user.click(await screen.findByRole("button", { name: "Log out everywhere" }));
    expect(await screen.findByRole("heading", { level: 1, name: "Log in" })).toBeInTheDocument();
    expect(screen.getByRole("status")).toHaveTextContent("3 sessions ended");
  });
});
