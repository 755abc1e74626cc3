//! The console in a real browser: Debian's Chromium, headless, driven over
//! WebDriver (chromedriver) with fantoccini. Logs in, reads the board of a
//! seeded day, claims a callback and records its outcome, moves a case, and
//! saves screenshots of the board at TV and tablet width under
//! `target/screenshots/` for people to look at.
//!
//! Without `/usr/bin/chromedriver` the test says so and passes, unless
//! `SERVICELANE_BROWSER_TESTS=required` (set by `.ci/run`, which installs
//! Chromium when it is missing).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;
use crate::workshop::{delivered, floor};

const DRIVER: &str = "/usr/bin/chromedriver";

/// A chromedriver on a free port, stopped when dropped.
pub(crate) struct Driver {
    child: Child,
    port: u16,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) async fn driver() -> Option<Driver> {
    if !std::path::Path::new(DRIVER).exists() {
        assert_ne!(
            std::env::var("SERVICELANE_BROWSER_TESTS").as_deref(),
            Ok("required"),
            "the browser test must run here, and {DRIVER} is missing"
        );
        eprintln!("{DRIVER} is not installed: the browser test is skipped");
        return None;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(DRIVER)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let d = Driver { child, port };
    for _ in 0..100 {
        if reqwest::get(format!("http://127.0.0.1:{port}/status"))
            .await
            .is_ok()
        {
            return Some(d);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("chromedriver did not answer on port {port}");
}

pub(crate) async fn browser(d: &Driver) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({"binary": "/usr/bin/chromium",
               "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                        "--window-size=1920,1080", "--lang=zh-CN"]}),
    );
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{}", d.port))
        .await
        .expect("a Chromium session")
}

pub(crate) fn screenshots() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .map(|p| p.join("screenshots"))
        .unwrap_or_else(|| PathBuf::from("target/screenshots"));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub(crate) async fn text_of(c: &Client, css: &str) -> String {
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .text()
        .await
        .unwrap()
}

/// Waits until the element's text is `expected` (a page loading after a click).
async fn until_text(c: &Client, css: &str, expected: &str) {
    let mut last = String::new();
    for _ in 0..100 {
        if let Ok(e) = c.find(Locator::Css(css)).await
            && let Ok(t) = e.text().await
        {
            if t == expected {
                return;
            }
            last = t;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{css} reads {last:?}, not {expected:?}");
}

#[tokio::test]
async fn the_console_works_in_a_real_browser_and_the_board_fits_a_tv_and_a_tablet() {
    let Some(d) = driver().await else { return };
    let app = spawn_app_with(&[
        ("SERVICELANE__AUTH__ACCESS_TTL_SECS", "864000"),
        NO_DISPATCHER,
    ])
    .await;
    let f = floor(&app, "TV").await;
    let order = delivered(&app, &f, 1).await;
    // the cookie is Secure: Chromium keeps it for http on localhost only
    let base = app.url("").replace("127.0.0.1", "localhost");
    let c = browser(&d).await;

    // log in
    c.goto(&format!("{base}/console/login")).await.unwrap();
    c.find(Locator::Id("dealer_code"))
        .await
        .unwrap()
        .send_keys("TV")
        .await
        .unwrap();
    c.find(Locator::Id("username"))
        .await
        .unwrap()
        .send_keys("service_manager")
        .await
        .unwrap();
    c.find(Locator::Id("password"))
        .await
        .unwrap()
        .send_keys(PASSWORD)
        .await
        .unwrap();
    c.find(Locator::Id("login"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();

    // the board of the day: one car delivered, nothing on site, its call due tomorrow
    let states = text_of(&c, "#states").await;
    assert!(
        states.contains("维修中") && states.contains("待交车"),
        "{states}"
    );
    let open = text_of(&c, "[data-figure='open_cases'] .value").await;
    assert_eq!(open, "0");
    c.set_window_size(1920, 1080).await.unwrap();
    let dir = screenshots();
    std::fs::write(
        dir.join("board-tv-1920x1080.png"),
        c.screenshot().await.unwrap(),
    )
    .unwrap();
    c.set_window_size(1024, 768).await.unwrap();
    std::fs::write(
        dir.join("board-tablet-1024x768.png"),
        c.screenshot().await.unwrap(),
    )
    .unwrap();

    // claim the follow-up call from tomorrow's list and record it
    let tomorrow =
        app.clock.now_utc().with_timezone(&f.s.tz).date_naive() + chrono::Duration::days(1);
    let due = app
        .get(&format!("/api/v1/callbacks?date={tomorrow}"), &f.s.manager)
        .await;
    let customer = due.body[0]["customer"]["id"].clone();
    c.goto(&format!("{base}/console/callbacks?date={tomorrow}"))
        .await
        .unwrap();
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("button.claim"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let script = text_of(&c, "#script").await;
    assert!(script.contains("更换前刹车片"), "{script}");
    c.find(Locator::Id("result"))
        .await
        .unwrap()
        .select_by_value("reached")
        .await
        .unwrap();
    c.find(Locator::Id("note"))
        .await
        .unwrap()
        .send_keys("客户对刹车很满意")
        .await
        .unwrap();
    c.find(Locator::Id("record"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    text_of(&c, "#callbacks").await;
    let entries = app
        .get(&format!("/api/v1/callbacks?date={tomorrow}"), &f.s.manager)
        .await;
    assert_eq!(entries.body, json!([]), "the call is done");
    let calls = app
        .get(
            &format!(
                "/api/v1/csi?from={}&to={tomorrow}",
                tomorrow - chrono::Duration::days(1)
            ),
            &f.s.manager,
        )
        .await;
    assert_eq!(calls.status, StatusCode::OK);
    assert_eq!(
        calls.body["follow_up"]["followed_up"], 1,
        "order {order}: {}",
        calls.body
    );

    // move a case: contacted from its page
    let case = app
        .post(
            "/api/v1/cases",
            Some(&f.s.manager),
            &json!({"customer_id": customer, "category": "time", "severity": "high",
                    "summary": "交车晚了一小时"}),
        )
        .await;
    assert_eq!(case.status, StatusCode::CREATED, "{}", case.body);
    let id = case.body["id"].as_str().unwrap();
    c.goto(&format!("{base}/console/cases/{id}")).await.unwrap();
    c.find(Locator::Id("action"))
        .await
        .unwrap()
        .select_by_value("contact")
        .await
        .unwrap();
    c.find(Locator::Id("case-note"))
        .await
        .unwrap()
        .send_keys("已致电道歉")
        .await
        .unwrap();
    c.find(Locator::Id("step"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    until_text(&c, "#case-state", "已联系").await;
    let api = app.get(&format!("/api/v1/cases/{id}"), &f.s.manager).await;
    assert_eq!(api.body["state"], "contacted");
    c.close().await.unwrap();
}
