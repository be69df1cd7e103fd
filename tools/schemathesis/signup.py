"""Signs up and confirms the account the contract test runs as (scripts/contract).

Usage: signup.py BASE_URL SES_URL EMAIL PASSWORD

Signs up through the API, waits for the confirmation email in the SES emulator's store
(GET /store), confirms the address with the token from its link, and logs in once so a
wrong password or an unconfirmed account fails here, with a clear message, rather than
as a run of 401s inside schemathesis. Standard library only: it runs in the venv that
holds schemathesis but needs nothing from it.
"""

import json
import re
import sys
import time
import urllib.error
import urllib.request


def post(url: str, body: dict) -> tuple[int, str]:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"content-type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def confirmation_token(ses_url: str, email: str, deadline: float) -> str:
    while True:
        with urllib.request.urlopen(f"{ses_url}/store", timeout=10) as response:
            store = json.load(response)
        for mail in store.get("emails", []):
            if email not in (mail.get("destination") or {}).get("to", []):
                continue
            text = (mail.get("body") or {}).get("text") or ""
            found = re.search(r"/confirm\?token=([A-Za-z0-9_-]+)", text)
            if found:
                return found.group(1)
        if time.monotonic() > deadline:
            sys.exit(f"signup.py: no confirmation email to {email} in {ses_url}/store within 30 s")
        time.sleep(0.25)


def main() -> None:
    base, ses_url, email, password = sys.argv[1:5]
    status, body = post(f"{base}/api/v1/auth/signup", {"email": email, "password": password, "time_zone": "UTC"})
    if status != 202:
        sys.exit(f"signup.py: signup answered {status}: {body}")
    token = confirmation_token(ses_url, email, time.monotonic() + 30)
    status, body = post(f"{base}/api/v1/auth/confirm", {"token": token})
    if status != 200:
        sys.exit(f"signup.py: confirm answered {status}: {body}")
    status, body = post(f"{base}/api/v1/auth/login", {"email": email, "password": password})
    if status != 200:
        sys.exit(f"signup.py: login answered {status}: {body}")
    print(f"signup.py: {email} signed up, confirmed and able to log in")


if __name__ == "__main__":
    main()
