use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

async fn patch(app: &TestApp, body: Value) -> reqwest::Response {
    app.api
        .patch(app.url("/api/v1/preferences"))
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn get(app: &TestApp) -> Value {
    app.api
        .get(app.url("/api/v1/preferences"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn defaults_then_a_full_update() {
    let app = spawn_app().await;
    app.confirmed_user().await;
    let defaults = get(&app).await;
    assert_eq!(defaults["time_zone"], "UTC");
    assert_eq!(defaults["send_time"], "07:00");
    assert_eq!(defaults["days"], "weekdays");
    assert_eq!(defaults["paused"], false);
    assert_eq!(defaults["include_news"], true);
    assert_eq!(defaults["include_earnings"], true);
    assert!(
        defaults["next_send_at"].is_string(),
        "a confirmed account is scheduled"
    );

    let response = patch(
        &app,
        json!({"time_zone": "America/New_York", "send_time": "06:45", "days": "every_day",
               "include_news": false, "include_earnings": false}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let saved: Value = response.json().await.unwrap();
    assert_eq!(saved, get(&app).await);
    assert_eq!(saved["time_zone"], "America/New_York");
    assert_eq!(saved["send_time"], "06:45");
    assert_eq!(saved["days"], "every_day");
    assert_eq!(saved["include_news"], false);

    // next_send_at is 06:45 New York time, within the coming day.
    let next: DateTime<Utc> = saved["next_send_at"].as_str().unwrap().parse().unwrap();
    let local = next.with_timezone(&chrono_tz::America::New_York);
    assert_eq!(local.format("%H:%M").to_string(), "06:45");
    assert!(next > Utc::now() && next <= Utc::now() + chrono::Duration::hours(24));
}

#[tokio::test]
async fn signup_may_choose_the_time_zone() {
    let app = spawn_app().await;
    let email = unique_email();
    let r = app
        .post(
            &app.api,
            "/api/v1/auth/signup",
            json!({"email": email, "password": PASSWORD, "time_zone": "Asia/Tokyo"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    app.confirm(&token_of(&link_in(
        &wait_for_email(&email, "Confirm").await,
    )))
    .await;
    app.login_with(&app.api, &email, PASSWORD).await;
    assert_eq!(get(&app).await["time_zone"], "Asia/Tokyo");
}

#[tokio::test]
async fn pause_and_resume() {
    let app = spawn_app().await;
    app.confirmed_user().await;
    let paused: Value = patch(&app, json!({"paused": true}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(paused["paused"], true);
    assert!(
        paused["next_send_at"].is_null(),
        "a paused digest is not scheduled"
    );
    let resumed: Value = patch(&app, json!({"paused": false}))
        .await
        .json()
        .await
        .unwrap();
    assert!(resumed["next_send_at"].is_string());
    // The partial updates left the rest alone.
    assert_eq!(resumed["send_time"], "07:00");
}

#[tokio::test]
async fn the_scheduler_finds_due_users_by_index() {
    let app = spawn_app().await;
    app.confirmed_user().await;
    // A one-row table is cheapest to scan; forbid that to see whether the partial
    // index can serve the scheduler's query at all.
    let mut tx = app.db.begin().await.unwrap();
    sqlx::query("set local enable_seqscan = off")
        .execute(&mut *tx)
        .await
        .unwrap();
    let plan: Vec<String> = sqlx::query_scalar(
        "explain select user_id from preferences where next_send_at <= now() order by next_send_at limit 100",
    )
    .fetch_all(&mut *tx)
    .await
    .unwrap();
    let plan = plan.join("\n");
    assert!(plan.contains("preferences_next_send_at_idx"), "{plan}");
}

#[tokio::test]
async fn bad_preferences_are_refused_and_nothing_changes() {
    let app = spawn_app().await;
    app.confirmed_user().await;
    patch(
        &app,
        json!({"time_zone": "Europe/Paris", "send_time": "08:15"}),
    )
    .await;
    let before = get(&app).await;

    let cases = [
        (json!({"time_zone": "Mars/Olympus_Mons"}), "time_zone"),
        (json!({"time_zone": ""}), "time_zone"),
        (json!({"send_time": "24:00"}), "send_time"),
        (json!({"send_time": "12:60"}), "send_time"),
        (json!({"send_time": "7am"}), "send_time"),
        (json!({"days": "sometimes"}), "days"),
        (json!({"paused": "yes"}), "paused"),
        (json!({"include_news": 1}), "include_news"),
        (json!({"send_tme": "08:00"}), "send_tme"),
    ];
    for (body, field) in cases {
        let problem = assert_problem(
            patch(&app, body.clone()).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation",
        )
        .await;
        let fields: Vec<&str> = problem["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap())
            .collect();
        assert!(fields.contains(&field), "{body} -> {problem}");
    }
    // Two bad fields are both named.
    let both = patch(
        &app,
        json!({"time_zone": "Nowhere/City", "send_time": "99:99", "paused": true}),
    )
    .await;
    let problem = assert_problem(both, StatusCode::UNPROCESSABLE_ENTITY, "validation").await;
    assert_eq!(problem["errors"].as_array().unwrap().len(), 2);
    assert_eq!(get(&app).await, before, "a refused update changes nothing");
}

#[tokio::test]
async fn trading_days_skip_the_market_holidays_the_etl_loaded() {
    use chrono::{Datelike, NaiveDate, Weekday};
    let app = spawn_app().await;
    app.confirmed_user().await;
    let next_weekday = |from: NaiveDate| {
        let mut d = from;
        while matches!(d.weekday(), Weekday::Sat | Weekday::Sun) {
            d = d.succ_opt().unwrap();
        }
        d
    };
    // 23:59 UTC: today if it is a weekday (and not past 23:59), else the next weekday.
    let now = Utc::now();
    let start = if now.format("%H:%M").to_string().as_str() < "23:59" {
        now.date_naive()
    } else {
        now.date_naive().succ_opt().unwrap()
    };
    let first = next_weekday(start);
    let body = json!({"time_zone": "UTC", "send_time": "23:59", "days": "trading_days"});
    let before: Value = patch(&app, body.clone()).await.json().await.unwrap();
    let due: DateTime<Utc> = before["next_send_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(due.date_naive(), first);

    sqlx::query(
        "insert into market_holidays (exchange, holiday, event_name, trading_hour, raw_id, sample)
         values ('US', $1, 'Test holiday', null, 0, false)",
    )
    .bind(first)
    .execute(&app.db)
    .await
    .unwrap();
    let after: Value = patch(&app, body).await.json().await.unwrap();
    let due: DateTime<Utc> = after["next_send_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(
        due.date_naive(),
        next_weekday(first.succ_opt().unwrap()),
        "the holiday is skipped"
    );
}
