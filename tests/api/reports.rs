//! The daily report (维修日报表, issue 11): the day's KPIs as a page and as
//! a CSV a spreadsheet opens with Chinese intact.

use chrono::{TimeZone, Utc};
use reqwest::StatusCode;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;
use servicelane::domain::message::MessageKind;
use servicelane::entities::outbox_message;

use crate::helpers::*;
use crate::workshop::{delivered, floor};

#[tokio::test]
async fn the_daily_report_lists_the_days_figures_as_a_page_and_as_csv() {
    let app = spawn_app_with(&[
        ("SERVICELANE__AUTH__ACCESS_TTL_SECS", "864000"),
        NO_DISPATCHER,
    ])
    .await;
    let f = floor(&app, "DAILY").await;
    delivered(&app, &f, 1).await;
    let today = app.clock.now_utc().with_timezone(&f.s.tz).date_naive();
    let get = |path: String, token: String| {
        let app = &app;
        async move {
            app.http
                .get(app.url(&path))
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
        }
    };

    let page = get(
        format!("/api/v1/reports/daily?date={today}"),
        f.s.manager.clone(),
    )
    .await;
    assert_eq!(page.status(), StatusCode::OK);
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = page.text().await.unwrap();
    assert!(html.contains("维修日报表") && html.contains(&today.to_string()));
    let at = html
        .find("data-figure=\"revenue_total\"")
        .expect("the revenue line");
    assert!(
        html[at..at + 300].contains("587.00"),
        "{}",
        &html[at..at + 300]
    );
    let at = html.find("data-figure=\"vehicles_delivered\"").unwrap();
    assert!(html[at..at + 200].contains(">1<"));

    let csv = get(
        format!("/api/v1/reports/daily?date={today}&format=csv"),
        f.s.manager.clone(),
    )
    .await;
    assert_eq!(csv.status(), StatusCode::OK);
    assert!(
        csv.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains(".csv")
    );
    let bytes = csv.bytes().await.unwrap();
    assert_eq!(&bytes[..3], b"\xEF\xBB\xBF", "a BOM for Excel");
    let text = String::from_utf8(bytes[3..].to_vec()).unwrap();
    assert!(
        text.contains("营业额（含税）,revenue_total,587.00,,"),
        "{text}"
    );
    // a ratio carries its numerator and denominator: one of one delivered first time
    assert!(
        text.contains("一次修复率,first_time_fix,1.000,1,1"),
        "{text}"
    );

    let en = get(
        format!("/api/v1/reports/daily?date={today}&lang=en"),
        f.s.manager.clone(),
    )
    .await;
    assert!(en.text().await.unwrap().contains("Daily service report"));

    // a technician may not read it; a bad day or format is named
    let tech = get(
        format!("/api/v1/reports/daily?date={today}"),
        f.tech.clone(),
    )
    .await;
    assert_eq!(tech.status(), StatusCode::FORBIDDEN);
    for (q, field) in [
        ("date=-5000-01-01", "date"),
        ("date=2027-02-30", "date"),
        (&format!("date={today}&format=pdf") as &str, "format"),
    ] {
        let r = app
            .get(&format!("/api/v1/reports/daily?{q}"), &f.s.manager)
            .await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{q}: {}",
            r.body
        );
        assert_eq!(r.problem_fields(), vec![field], "{q}");
    }
}

#[tokio::test]
async fn the_daily_report_goes_to_the_manager_once_at_the_closing_time() {
    let smtp = SmtpSink::start().await;
    let app = spawn_app_with(&[
        ("SERVICELANE__AUTH__ACCESS_TTL_SECS", "864000"),
        NO_DISPATCHER,
        ("SERVICELANE__EMAIL__SMTP_URL", &smtp.url()),
    ])
    .await;
    let f = floor(&app, "CLOSE").await;
    let at = |hh: u32| {
        f.s.tz
            .from_local_datetime(&f.s.date.and_hms_opt(hh, 0, 0).unwrap())
            .earliest()
            .unwrap()
            .with_timezone(&Utc)
    };
    // a working day: a car delivered in the morning
    app.clock.set(at(9));
    delivered(&app, &f, 1).await;
    let rules = app.get("/api/v1/case-rules", &f.s.manager).await.body;
    let mut rules = rules.clone();
    rules["escalate_to"] = json!([
        {"channel": "email", "address": "manager@dealer.example", "name": "王经理"},
        {"channel": "sms", "address": "13912345678"},
        {"channel": "email", "address": "gm@dealer.example", "locale": "en"},
        {"channel": "sms", "address": "13800000009", "daily_report": false},
    ]);
    let r = app.put("/api/v1/case-rules", &f.s.manager, &rules).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // still open (the shop closes at 12:00): nothing yet
    app.clock.set(at(11));
    assert_eq!(app.send_daily_reports().await, 0);
    // after the close: one message per contact that takes the report, and
    // a second sweep adds none
    app.clock.set(at(23));
    assert_eq!(app.send_daily_reports().await, 3);
    assert_eq!(app.send_daily_reports().await, 0);
    let rows = outbox_message::Entity::find()
        .filter(outbox_message::Column::Kind.eq(MessageKind::DailyReport))
        .all(&app.state.db)
        .await
        .unwrap();
    assert_eq!(rows.len(), 3);
    assert!(rows.iter().all(|m| m.recipient != "+8613800000009"));
    assert_eq!(app.dispatch_pending().await, 3);
    let (sms, _, _) = app.sms.wait_for("+8613912345678").await;
    assert_eq!(sms["template"], "daily_report");
    assert_eq!(sms["params"]["revenue"], "587.00");
    assert_eq!(sms["params"]["vehicles_delivered"], "1");
    let mails: Vec<ReceivedEmail> = smtp
        .messages()
        .iter()
        .map(|m| ReceivedEmail::parse(m))
        .collect();
    assert_eq!(mails.len(), 2);
    let to = |who: &str| {
        mails
            .iter()
            .find(|m| m.header("To").contains(who))
            .unwrap_or_else(|| panic!("no mail to {who}"))
            .part("text/plain")
    };
    let text = to("manager@dealer.example");
    assert!(
        text.contains("维修日报表") && text.contains("587.00"),
        "{text}"
    );
    assert!(text.contains("/console/reports/daily?date="), "{text}");
    // the general manager reads English, and the link opens in English
    let text = to("gm@dealer.example");
    assert!(
        text.contains("daily service report")
            && text.contains("587.00")
            && !text.contains("维修日报表"),
        "{text}"
    );
    assert!(text.contains("&lang=en"), "{text}");
    // the next day has its own report
    app.clock.set(at(23) + chrono::Duration::days(1));
    assert_eq!(app.send_daily_reports().await, 3);
    assert_eq!(app.send_daily_reports().await, 0);
}
