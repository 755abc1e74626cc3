//! The daily report (维修日报表, issue 11): the day's KPIs as a page and as
//! a CSV a spreadsheet opens with Chinese intact.

use reqwest::StatusCode;

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
