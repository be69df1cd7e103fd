//! Schedule changes against the scheduler (issue 10): a save, a confirmation or a reset
//! in the minute a digest falls due never loses it; a change of zone or send time after
//! the day's digest never yields a second one that day; the database's clock, not a
//! host's, decides who is due. The digest workers are off: each test runs the scheduler
//! pass itself, at the moment it chooses, with the host clock it chooses.

use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, NaiveDate, Timelike, Utc};
use quotidian::services::digest::schedule::{self, ScheduleReport};
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::*;

async fn app_without_workers() -> TestApp {
    TestApp::builder()
        .with_config(|c| c.digests.workers = false)
        .spawn()
        .await
}

/// A confirmed, logged-in person; returns their address and id.
async fn person(app: &TestApp) -> (String, Uuid) {
    let email = app.confirmed_user().await;
    let id = sqlx::query_scalar("select id from users where email = $1")
        .bind(&email)
        .fetch_one(&app.db)
        .await
        .unwrap();
    (email, id)
}

async fn db_now(app: &TestApp) -> DateTime<Utc> {
    sqlx::query_scalar("select statement_timestamp()")
        .fetch_one(&app.db)
        .await
        .unwrap()
}

/// A fixed-offset IANA zone (`Etc/GMT±N`) in which it is now about `hour` o'clock, so
/// a test can keep clear of local midnight whenever it runs.
fn zone_at_hour(now: DateTime<Utc>, hour: i64) -> String {
    let offset = (hour - i64::from(now.hour()) + 12).rem_euclid(24) - 12;
    match offset {
        0 => "Etc/UTC".to_owned(),
        // POSIX sign: Etc/GMT-5 is five hours ahead of UTC.
        o if o > 0 => format!("Etc/GMT-{o}"),
        o => format!("Etc/GMT+{}", -o),
    }
}

fn local_date(instant: DateTime<Utc>, zone: &str) -> NaiveDate {
    let tz: chrono_tz::Tz = zone.parse().unwrap();
    instant.with_timezone(&tz).date_naive()
}

/// Every day in `zone`, with the send time that just passed: due one second ago, as
/// when the minute has just arrived and no scheduler pass has run yet.
async fn make_due(app: &TestApp, user: Uuid, zone: &str) {
    sqlx::query(
        "update preferences set time_zone = $2, days = 'every_day',
             send_time = (now() at time zone $2)::time, next_send_at = now() - interval '1 second'
         where user_id = $1",
    )
    .bind(user)
    .bind(zone)
    .execute(&app.db)
    .await
    .unwrap();
}

async fn patch(app: &TestApp, body: Value) -> Value {
    let r = app
        .api
        .patch(app.url("/api/v1/preferences"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    r.json().await.unwrap()
}

fn next_send_at(prefs: &Value) -> DateTime<Utc> {
    prefs["next_send_at"]
        .as_str()
        .expect("scheduled")
        .parse()
        .unwrap()
}

/// (local_date, status, trigger) of each of the person's digest jobs, by date.
async fn jobs(app: &TestApp, user: Uuid) -> Vec<(NaiveDate, String, String)> {
    sqlx::query_as(
        "select local_date, status, trigger from digest_jobs where user_id = $1 order by local_date",
    )
    .bind(user)
    .fetch_all(&app.db)
    .await
    .unwrap()
}

async fn pass(app: &TestApp, host_clock: DateTime<Utc>) -> ScheduleReport {
    schedule::schedule_due(
        &app.state,
        quotidian::domain::DigestTrigger::Schedule,
        host_clock,
    )
    .await
    .unwrap()
}

/// Waits until some other session is blocked on a row lock in this test's database.
async fn until_a_session_waits_for_a_lock(app: &TestApp) {
    eventually(StdDuration::from_secs(10), async || {
        let waiting: i64 = sqlx::query_scalar(
            "select count(*) from pg_stat_activity
             where datname = current_database() and wait_event_type = 'Lock'",
        )
        .fetch_one(&app.db)
        .await
        .unwrap();
        if waiting > 0 {
            Ok(())
        } else {
            Err("the request never reached the lock")
        }
    })
    .await
}

/// Within the last two minutes of an hour, a local 23:59 in a whole-hour zone may be
/// the current minute; wait for the next hour so "later today" exists.
async fn clear_of_the_hours_end() {
    let now = Utc::now();
    if now.minute() >= 58 {
        let wait = 60 * (60 - i64::from(now.minute())) - i64::from(now.second()) + 5;
        tokio::time::sleep(StdDuration::from_secs(wait as u64)).await;
    }
}

// ---- a save in the due minute ------------------------------------------------------

#[tokio::test]
async fn saving_preferences_while_the_scheduler_skips_the_row_still_queues_the_due_digest() {
    let app = app_without_workers().await;
    let (_, user) = person(&app).await;
    let zone = zone_at_hour(db_now(&app).await, 12);
    make_due(&app, user, &zone).await;
    let today = local_date(db_now(&app).await, &zone);

    // The save's transaction holds the row when the scheduler pass comes by. To make
    // that order certain, the test holds the lock first, so the save queues behind it.
    let mut holder = app.db.begin().await.unwrap();
    sqlx::query("select 1 from preferences where user_id = $1 for update")
        .bind(user)
        .execute(&mut *holder)
        .await
        .unwrap();
    let client = app.api.clone();
    let url = app.url("/api/v1/preferences");
    let save = tokio::spawn(async move { client.patch(url).json(&json!({})).send().await });
    until_a_session_waits_for_a_lock(&app).await;

    let skipped = pass(&app, Utc::now()).await;
    assert_eq!(skipped.due, 0, "the scheduler skips a locked row");
    holder.commit().await.unwrap();
    let saved = save.await.unwrap().unwrap();
    assert_eq!(saved.status(), StatusCode::OK);
    let saved: Value = saved.json().await.unwrap();
    let after = pass(&app, Utc::now()).await;
    assert_eq!(after.due, 0, "the save moved next_send_at on");

    assert_eq!(
        jobs(&app, user).await,
        [(today, "pending".to_owned(), "schedule".to_owned())],
        "the digest due when the save began is queued, not lost"
    );
    assert_eq!(
        local_date(next_send_at(&saved), &zone),
        today + Duration::days(1)
    );
    // The save counts as a scheduler run for operators: one due, one queued.
    let runs: Vec<(String, i32, i32, i32)> =
        sqlx::query_as("select trigger, due, queued, missed from digest_runs")
            .fetch_all(&app.db)
            .await
            .unwrap();
    assert_eq!(runs, [("schedule".to_owned(), 1, 1, 0)]);
}

#[tokio::test]
async fn a_save_after_downtime_records_the_missed_days_as_the_scheduler_does() {
    let app = app_without_workers().await;
    let (_, user) = person(&app).await;
    let now = db_now(&app).await;
    let zone = zone_at_hour(now, 12);
    // The send time passed an hour ago today; the last digest due was three days ago.
    let tz: chrono_tz::Tz = zone.parse().unwrap();
    let due_today = now - Duration::hours(1);
    sqlx::query(
        "update preferences set time_zone = $2, days = 'every_day', send_time = $3, next_send_at = $4
         where user_id = $1",
    )
    .bind(user)
    .bind(&zone)
    .bind(due_today.with_timezone(&tz).time())
    .bind(due_today - Duration::days(3))
    .execute(&app.db)
    .await
    .unwrap();

    // A change of zone: what was due is settled under the schedule it was due under.
    patch(
        &app,
        json!({"time_zone": "Asia/Tokyo", "include_news": false}),
    )
    .await;

    let today = local_date(now, &zone);
    let expected: Vec<(NaiveDate, String, String)> = (1..=3)
        .rev()
        .map(|d| {
            (
                today - Duration::days(d),
                "missed".into(),
                "schedule".into(),
            )
        })
        .chain([(today, "pending".into(), "schedule".into())])
        .collect();
    assert_eq!(jobs(&app, user).await, expected);
    let missed_records: i64 = sqlx::query_scalar(
        "select count(*) from audit_outbox where kind = 'delivery' and body->>'outcome' = 'missed'",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(missed_records, 3, "each missed day has its audit record");
    let run_records: i64 =
        sqlx::query_scalar("select count(*) from audit_outbox where kind = 'run'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(run_records, 1);
}

#[tokio::test]
async fn a_password_reset_in_the_due_minute_still_queues_the_digest() {
    let app = app_without_workers().await;
    let (email, user) = person(&app).await;
    let zone = zone_at_hour(db_now(&app).await, 12);
    let r = app
        .post(
            &new_client(),
            "/api/v1/auth/password-reset",
            json!({"email": email}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let token = token_of(&link_in(&wait_for_email(&email, "Reset").await));
    make_due(&app, user, &zone).await;
    let today = local_date(db_now(&app).await, &zone);

    let r = app
        .post(
            &new_client(),
            "/api/v1/auth/password-reset/confirm",
            json!({"token": token, "new_password": NEW_PASSWORD}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    pass(&app, Utc::now()).await;
    assert_eq!(
        jobs(&app, user).await,
        [(today, "pending".to_owned(), "schedule".to_owned())]
    );
}

// ---- a change of zone or send time after the day's digest ---------------------------

/// The person's digest is queued now in `from`; they then move to `to` and ask for
/// 23:59 there. Returns (the job's date, the new next_send_at).
async fn digest_then_move(app: &TestApp, user: Uuid, from: &str, to: &str) -> (NaiveDate, Value) {
    make_due(app, user, from).await;
    let report = pass(app, Utc::now()).await;
    assert_eq!(report.queued, 1);
    let first = jobs(app, user).await;
    assert_eq!(first.len(), 1);
    let saved = patch(app, json!({"time_zone": to, "send_time": "23:59"})).await;
    assert_eq!(pass(app, Utc::now()).await.due, 0);
    assert_eq!(jobs(app, user).await, first, "nothing new queued");
    (first[0].0, saved)
}

#[tokio::test]
async fn moving_east_across_the_date_line_after_the_digest_gives_none_more_that_day() {
    clear_of_the_hours_end().await;
    let app = app_without_workers().await;
    let (_, user) = person(&app).await;
    let (pago_date, saved) =
        digest_then_move(&app, user, "Pacific/Pago_Pago", "Pacific/Kiritimati").await;
    // The digest arrived (just now) on this date as Kiritimati (UTC+14) reckons it:
    // a later date than Pago Pago's (UTC-11), but the same day for someone living there.
    let arrived = local_date(db_now(&app).await, "Pacific/Kiritimati");
    assert!(arrived > pago_date);
    let next = next_send_at(&saved);
    assert_eq!(
        local_date(next, "Pacific/Kiritimati"),
        arrived + Duration::days(1),
        "23:59 today in Kiritimati would be a second digest the same day ({next})"
    );
}

#[tokio::test]
async fn moving_west_across_the_date_line_after_the_digest_gives_none_more_that_day() {
    clear_of_the_hours_end().await;
    let app = app_without_workers().await;
    let (_, user) = person(&app).await;
    let (kiritimati_date, saved) =
        digest_then_move(&app, user, "Pacific/Kiritimati", "Pacific/Pago_Pago").await;
    // In Pago Pago it is still the day before (or two) the date the digest was for; it
    // arrived today there, and the date it was for has had its digest too.
    let arrived = local_date(db_now(&app).await, "Pacific/Pago_Pago");
    assert!(arrived < kiritimati_date);
    let next = next_send_at(&saved);
    assert_eq!(
        local_date(next, "Pacific/Pago_Pago"),
        kiritimati_date + Duration::days(1),
        "23:59 today in Pago Pago would be a second digest the same day ({next})"
    );
}

#[tokio::test]
async fn a_later_send_time_the_same_day_waits_for_tomorrow() {
    let app = app_without_workers().await;
    let (_, user) = person(&app).await;
    let now = db_now(&app).await;
    let zone = zone_at_hour(now, 12);
    make_due(&app, user, &zone).await;
    pass(&app, Utc::now()).await;
    let today = local_date(now, &zone);
    assert_eq!(jobs(&app, user).await.len(), 1);

    // Three hours later today: today's digest has gone already.
    let tz: chrono_tz::Tz = zone.parse().unwrap();
    let later = (now + Duration::hours(3)).with_timezone(&tz);
    let saved = patch(
        &app,
        json!({"send_time": later.format("%H:%M").to_string()}),
    )
    .await;
    let next = next_send_at(&saved).with_timezone(&tz);
    assert_eq!(next.date_naive(), today + Duration::days(1), "{next}");
    assert_eq!(
        next.format("%H:%M").to_string(),
        later.format("%H:%M").to_string()
    );
    // An earlier send time is no different: tomorrow.
    let earlier = (now - Duration::hours(3)).with_timezone(&tz);
    let saved = patch(
        &app,
        json!({"send_time": earlier.format("%H:%M").to_string()}),
    )
    .await;
    assert_eq!(
        local_date(next_send_at(&saved), &zone),
        today + Duration::days(1)
    );
}

// ---- the database's clock -----------------------------------------------------------

#[tokio::test]
async fn a_host_clock_hours_off_neither_sends_early_nor_late_nor_misses_today() {
    let app = app_without_workers().await;
    let now = db_now(&app).await;

    // Due in an hour, at midday local time.
    let (_, early) = person(&app).await;
    let noon = zone_at_hour(now, 12);
    make_due(&app, early, &noon).await;
    sqlx::query(
        "update preferences set send_time = send_time + interval '1 hour',
             next_send_at = now() + interval '1 hour'
         where user_id = $1",
    )
    .bind(early)
    .execute(&app.db)
    .await
    .unwrap();
    // Due a second ago, late in the local evening: five hours on, that day has ended.
    let (_, evening) = person(&app).await;
    let late = zone_at_hour(now, 22);
    make_due(&app, evening, &late).await;
    let evening_today = local_date(db_now(&app).await, &late);

    let ahead = pass(&app, Utc::now() + Duration::hours(5)).await;
    assert!(jobs(&app, early).await.is_empty(), "sent an hour early");
    assert_eq!(
        jobs(&app, evening).await,
        [(evening_today, "pending".to_owned(), "schedule".to_owned())],
        "today is not over for them, whatever this host's clock says"
    );
    assert_eq!((ahead.due, ahead.queued, ahead.missed), (1, 1, 0));

    // Due a second ago, and this host's clock five hours behind: sent now, not late.
    let (_, behind) = person(&app).await;
    make_due(&app, behind, &noon).await;
    let report = pass(&app, Utc::now() - Duration::hours(5)).await;
    assert_eq!((report.due, report.queued), (1, 1));
    assert_eq!(jobs(&app, behind).await.len(), 1);
    assert!(jobs(&app, early).await.is_empty());
}
