//! The account emails' words. Each is an HTML and a plain-text part built from a
//! fixed text and a link we generated, so there is no user-controlled markup to escape
//! beyond the address, which `EmailAddress` has already restricted.

pub struct Composed {
    pub kind: &'static str,
    pub subject: String,
    pub html: String,
    pub text: String,
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn html_page(title: &str, paragraphs: &[String], link: Option<(&str, &str)>) -> String {
    let mut body = String::new();
    for p in paragraphs {
        body.push_str(&format!("<p>{}</p>\n", escape(p)));
    }
    if let Some((label, url)) = link {
        let url = escape(url);
        body.push_str(&format!(
            "<p><a href=\"{url}\" style=\"display:inline-block;padding:10px 16px;background:#1d4ed8;color:#ffffff;text-decoration:none;border-radius:6px\">{}</a></p>\n<p style=\"color:#555555;font-size:13px\">Or paste this link into your browser: {url}</p>\n",
            escape(label)
        ));
    }
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title></head>\n<body style=\"font-family:Arial,Helvetica,sans-serif;color:#111111;max-width:560px\">\n<h1 style=\"font-size:20px\">{}</h1>\n{body}<p style=\"color:#555555;font-size:13px\">Quotidian, your daily market digest.</p>\n</body></html>\n",
        escape(title),
        escape(title)
    )
}

fn text_page(paragraphs: &[String], link: Option<&str>) -> String {
    let mut text = paragraphs.join("\n\n");
    if let Some(url) = link {
        text.push_str("\n\n");
        text.push_str(url);
    }
    text.push_str("\n\n-- \nQuotidian, your daily market digest.\n");
    text
}

pub fn confirm_email(link: &str, hours_valid: i64) -> Composed {
    let title = "Confirm your email address";
    let paragraphs = vec![
        "Welcome to Quotidian. Confirm your email address to start receiving your daily market digest.".to_string(),
        format!("The link works once and expires in {hours_valid} hours. If you did not sign up, ignore this email: nothing will be sent to you."),
    ];
    Composed {
        kind: "confirm_email",
        subject: "Confirm your Quotidian email address".into(),
        html: html_page(title, &paragraphs, Some(("Confirm my email address", link))),
        text: text_page(&paragraphs, Some(link)),
    }
}

pub fn account_exists(login_link: &str, reset_link: &str) -> Composed {
    let title = "You already have an account";
    let paragraphs = vec![
        "Someone (probably you) tried to sign up for Quotidian with this email address, which already has an account.".to_string(),
        format!("Log in at {login_link}. Forgot your password? Reset it at {reset_link}."),
        "If this was not you, you can ignore this email; your account has not changed.".to_string(),
    ];
    Composed {
        kind: "account_exists",
        subject: "Your Quotidian account".into(),
        html: html_page(title, &paragraphs, Some(("Log in", login_link))),
        text: text_page(&paragraphs, None),
    }
}

pub fn reset_password(link: &str, minutes_valid: i64) -> Composed {
    let title = "Reset your password";
    let paragraphs = vec![
        "We received a request to reset the password of your Quotidian account.".to_string(),
        format!(
            "The link works once and expires in {minutes_valid} minutes. If you did not ask for it, ignore this email: your password stays as it is."
        ),
    ];
    Composed {
        kind: "reset_password",
        subject: "Reset your Quotidian password".into(),
        html: html_page(title, &paragraphs, Some(("Choose a new password", link))),
        text: text_page(&paragraphs, Some(link)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_parts_carry_the_link() {
        let link = "https://q.example/confirm?token=abc_DEF-123";
        let email = confirm_email(link, 24);
        assert!(email.html.contains(link));
        assert!(email.text.contains(link));
        assert!(email.text.contains("24 hours"));
    }

    #[test]
    fn markup_is_escaped() {
        let email = reset_password("https://q.example/r?a=1&b=<2>", 60);
        assert!(email.html.contains("a=1&amp;b=&lt;2&gt;"));
        assert!(!email.html.contains("<2>"));
    }
}
