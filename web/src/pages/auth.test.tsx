import { screen, waitFor } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { LOGGED_IN, LOGGED_OUT, ME, mockApi, problem, validation } from "../test/mockApi";
import { currentPath, renderApp } from "../test/renderApp";

describe("sign up", () => {
  it("shows a 422's field errors next to their fields and keeps the input", async () => {
    const server = mockApi({
      ...LOGGED_OUT,
      "POST /api/v1/auth/signup": validation([
        { field: "email", message: "is not a valid email address" },
        { field: "password", message: "is too short: use at least 10 characters" },
      ]),
    });
    const { user } = renderApp("/signup");
    expect(await screen.findByRole("heading", { level: 1, name: "Create your account" })).toBeInTheDocument();
    expect(document.title).toBe("Sign up · Quotidian");

    await user.type(screen.getByLabelText("Email"), "ada@");
    await user.type(screen.getByLabelText("Password"), "short");
    await user.click(screen.getByRole("button", { name: "Sign up" }));

    const email = screen.getByLabelText("Email");
    const password = screen.getByLabelText("Password");
    await waitFor(() => expect(email).toHaveAttribute("aria-invalid", "true"));
    expect(email).toHaveAccessibleDescription(/is not a valid email address/);
    expect(password).toHaveAttribute("aria-invalid", "true");
    expect(password).toHaveAccessibleDescription(/is too short: use at least 10 characters/);
    // Focus goes to the first field to fix; nothing typed is lost.
    expect(email).toHaveFocus();
    expect(email).toHaveValue("ada@");
    expect(password).toHaveValue("short");
    expect(screen.getByRole("button", { name: "Sign up" })).toBeEnabled();

    expect(server.callsTo("POST /api/v1/auth/signup")[0]?.body).toEqual({
      email: "ada@",
      password: "short",
      time_zone: "Europe/Paris",
    });
  });

  it("goes to 'Check your email' once the account is created", async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    mockApi({
      ...LOGGED_OUT,
      "POST /api/v1/auth/signup": async () => {
        await held;
        return { status: 202, body: { message: "Check your inbox: we sent a link to confirm your address." } };
      },
    });
    const { user } = renderApp("/signup");
    await user.type(await screen.findByLabelText("Email"), "ada@example.com");
    await user.type(screen.getByLabelText("Password"), "velvet-harbor-oxide-42");
    await user.click(screen.getByRole("button", { name: "Sign up" }));

    expect(await screen.findByRole("button", { name: "Signing up…" })).toBeDisabled();
    release();
    expect(await screen.findByRole("heading", { level: 1, name: "Check your email" })).toBeInTheDocument();
    expect(currentPath()).toBe("/check-email");
    expect(screen.getByText("ada@example.com")).toBeInTheDocument();
  });
});

describe("log in", () => {
  it("shows the API's detail in an alert for a wrong password", async () => {
    mockApi({
      ...LOGGED_OUT,
      "POST /api/v1/auth/login": problem(401, "invalid-credentials", "The email address or password is not right."),
    });
    const { user } = renderApp("/login");
    await user.type(await screen.findByLabelText("Email"), "ada@example.com");
    await user.type(screen.getByLabelText("Password"), "wrong-password");
    await user.click(screen.getByRole("button", { name: "Log in" }));

    expect(await screen.findByRole("alert")).toHaveTextContent("The email address or password is not right.");
    expect(screen.getByLabelText("Password")).toHaveValue("wrong-password");
    expect(screen.getByRole("link", { name: "Forgot your password?" })).toHaveAttribute("href", "/forgot-password");
    expect(screen.getByRole("link", { name: "Create an account" })).toHaveAttribute("href", "/signup");
  });

  it("explains what to do when the address is not confirmed", async () => {
    mockApi({
      ...LOGGED_OUT,
      "POST /api/v1/auth/login": problem(
        403,
        "email-not-confirmed",
        "Confirm your email address through the link we sent you; sign up again to get a new link.",
      ),
    });
    const { user } = renderApp("/login");
    await user.type(await screen.findByLabelText("Email"), "ada@example.com");
    await user.type(screen.getByLabelText("Password"), "velvet-harbor-oxide-42");
    await user.click(screen.getByRole("button", { name: "Log in" }));

    const alert = await screen.findByRole("alert");
    expect(alert).toHaveTextContent("Confirm your email address through the link we sent you");
    expect(alert).toHaveTextContent(/Look for the email we sent when you signed up/);
  });

  it("sends a logged-out visitor to log in, then back where they wanted to go", async () => {
    let loggedIn = false;
    const server = mockApi({
      "GET /api/v1/me": () =>
        loggedIn ? { body: ME } : problem(401, "unauthenticated", "Log in first."),
      "POST /api/v1/auth/login": () => {
        loggedIn = true;
        return { body: { user_id: ME.id, email: ME.email, expires_at: "2026-11-28T09:00:00Z" } };
      },
      "GET /api/v1/digests": { body: { digests: [], next_before: null } },
    });
    const { user } = renderApp("/history");
    expect(await screen.findByRole("heading", { level: 1, name: "Log in" })).toBeInTheDocument();
    expect(currentPath()).toBe("/login");

    await user.type(screen.getByLabelText("Email"), "ada@example.com");
    await user.type(screen.getByLabelText("Password"), "velvet-harbor-oxide-42");
    await user.click(screen.getByRole("button", { name: "Log in" }));

    expect(await screen.findByRole("heading", { level: 1, name: "History" })).toBeInTheDocument();
    expect(currentPath()).toBe("/history");
    expect(server.callsTo("POST /api/v1/auth/login")[0]?.body).toEqual({
      email: "ada@example.com",
      password: "velvet-harbor-oxide-42",
    });
  });
});

describe("confirm", () => {
  it("confirms the token from the link once", async () => {
    const server = mockApi({
      ...LOGGED_OUT,
      "POST /api/v1/auth/confirm": { body: { message: "Your email address is confirmed." } },
    });
    renderApp("/confirm?token=abc123");
    expect(screen.getByRole("heading", { level: 1, name: "Confirm your email" })).toBeInTheDocument();
    expect(await screen.findByText(/Your email is confirmed/)).toBeInTheDocument();
    expect(screen.getByRole("link", { name: "Log in" })).toHaveAttribute("href", "/login");
    expect(server.callsTo("POST /api/v1/auth/confirm")).toHaveLength(1);
    expect(server.callsTo("POST /api/v1/auth/confirm")[0]?.body).toEqual({ token: "abc123" });
  });

  it("shows the problem and a way to sign up again for a bad link", async () => {
    mockApi({
      ...LOGGED_OUT,
      "POST /api/v1/auth/confirm": problem(400, "invalid-token", "This link is unknown, used or expired."),
    });
    renderApp("/confirm?token=used");
    expect(await screen.findByRole("alert")).toHaveTextContent("This link is unknown, used or expired.");
    expect(screen.getByRole("link", { name: "sign up again" })).toHaveAttribute("href", "/signup");
  });
});

describe("password reset", () => {
  it("answers a reset request with a neutral message", async () => {
    mockApi({
      ...LOGGED_OUT,
      "POST /api/v1/auth/password-reset": {
        status: 202,
        body: { message: "If an account uses that address, a reset link is on its way." },
      },
    });
    const { user } = renderApp("/forgot-password");
    expect(await screen.findByRole("heading", { level: 1, name: "Reset your password" })).toBeInTheDocument();
    await user.type(screen.getByLabelText("Email"), "ada@example.com");
    await user.click(screen.getByRole("button", { name: "Send reset link" }));
    expect(await screen.findByRole("status")).toHaveTextContent("If an account uses that address");
  });

  it("shows a weak new password's error next to the field", async () => {
    const server = mockApi({
      ...LOGGED_OUT,
      "POST /api/v1/auth/password-reset/confirm": validation([
        { field: "new_password", message: "is too easy to guess" },
      ]),
    });
    const { user } = renderApp("/reset-password?token=tok");
    expect(await screen.findByRole("heading", { level: 1, name: "Choose a new password" })).toBeInTheDocument();
    await user.type(screen.getByLabelText("New password"), "password123");
    await user.click(screen.getByRole("button", { name: "Set new password" }));
    const field = screen.getByLabelText("New password");
    await waitFor(() => expect(field).toHaveAttribute("aria-invalid", "true"));
    expect(field).toHaveAccessibleDescription(/is too easy to guess/);
    expect(field).toHaveValue("password123");
    expect(server.callsTo("POST /api/v1/auth/password-reset/confirm")[0]?.body).toEqual({
      token: "tok",
      new_password: "password123",
    });
  });

  it("confirms a new password and offers to log in", async () => {
    mockApi({ ...LOGGED_OUT, "POST /api/v1/auth/password-reset/confirm": { status: 204 } });
    const { user } = renderApp("/reset-password?token=tok");
    await user.type(await screen.findByLabelText("New password"), "quiet-lantern-meadow-77");
    await user.click(screen.getByRole("button", { name: "Set new password" }));
    expect(await screen.findByRole("status")).toHaveTextContent(/Your password is changed/);
    expect(screen.getByRole("link", { name: "Log in" })).toHaveAttribute("href", "/login");
  });
});

describe("routing", () => {
  it("sends / to the watchlist when logged in", async () => {
    mockApi({ ...LOGGED_IN, "GET /api/v1/watchlist": { body: { max: 50, symbols: [] } } });
    renderApp("/");
    expect(await screen.findByRole("heading", { level: 1, name: "Watchlist" })).toBeInTheDocument();
    const nav = screen.getByRole("navigation", { name: "Main" });
    expect(nav).toBeInTheDocument();
    expect(screen.getByRole("link", { name: "Watchlist" })).toHaveAttribute("aria-current", "page");
    expect(screen.getByRole("link", { name: "Schedule" })).not.toHaveAttribute("aria-current");
    expect(screen.getByRole("button", { name: "Log out" })).toBeInTheDocument();
  });

  it("sends / to log in when logged out", async () => {
    mockApi(LOGGED_OUT);
    renderApp("/");
    expect(await screen.findByRole("heading", { level: 1, name: "Log in" })).toBeInTheDocument();
    expect(screen.queryByRole("navigation", { name: "Main" })).not.toBeInTheDocument();
  });

  it("has a not found page", async () => {
    mockApi(LOGGED_OUT);
    renderApp("/no/such/page");
    expect(await screen.findByRole("heading", { level: 1, name: "Page not found" })).toBeInTheDocument();
    expect(document.title).toBe("Page not found · Quotidian");
  });

  it("logs out from the menu", async () => {
    const server = mockApi({
      ...LOGGED_IN,
      "GET /api/v1/watchlist": { body: { max: 50, symbols: [] } },
      "POST /api/v1/auth/logout": { status: 204 },
    });
    const { user } = renderApp("/watchlist");
    await user.click(await screen.findByRole("button", { name: "Log out" }));
    expect(await screen.findByRole("heading", { level: 1, name: "Log in" })).toBeInTheDocument();
    expect(server.callsTo("POST /api/v1/auth/logout")).toHaveLength(1);
    expect(screen.queryByRole("navigation", { name: "Main" })).not.toBeInTheDocument();
  });
});

describe("an ended session", () => {
  it("sends the person to log in when the API says the session is gone", async () => {
    mockApi({
      ...LOGGED_IN,
      "GET /api/v1/preferences": problem(401, "unauthenticated", "This needs a valid session: log in first."),
    });
    renderApp("/schedule");
    expect(await screen.findByRole("heading", { level: 1, name: "Log in" })).toBeInTheDocument();
  });
});
