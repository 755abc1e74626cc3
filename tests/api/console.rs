//! The staff console (issue 11) over HTTP as a browser speaks it: a login
//! form, a session cookie, forms with a CSRF token, redirects after each
//! post. (`console_browser.rs` drives a real Chromium through the same.)

use reqwest::StatusCode;
use servicelane::domain::Role;

use crate::helpers::*;
use crate::workshop::{delivered, floor};

/// A browser's session: the cookie and the last page's CSRF token.
pub(crate) struct Browser<'a> {
    app: &'a TestApp,
    cookie: String,
}

pub(crate) struct Page {
    pub status: StatusCode,
    pub location: String,
    /// The cookie the answer set (`name=value`), if any.
    pub set_cookie: Option<String>,
    pub body: String,
}

impl Page {
    /// The CSRF token of the page's forms.
    pub fn csrf(&self) -> String {
        let at = self.body.find("name=\"csrf\" value=\"").expect("a form") + 19;
        self.body[at..at + 64].to_string()
    }
}

impl<'a> Browser<'a> {
    pub async fn login(app: &'a TestApp, code: &str, username: &str) -> Browser<'a> {
        let r = app
            .http
            .post(app.url("/console/login"))
            .form(&[
                ("dealer_code", code),
                ("username", username),
                ("password", PASSWORD),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let set = r.headers()["set-cookie"].to_str().unwrap().to_string();
        assert!(
            set.contains("HttpOnly") && set.contains("Secure") && set.contains("SameSite=Strict"),
            "{set}"
        );
        let cookie = set.split(';').next().unwrap().to_string();
        Browser { app, cookie }
    }

    /// Keeps a cookie a page set, as a browser does.
    pub fn keep(&mut self, cookie: &str) {
        self.cookie = format!("{}; {cookie}", self.cookie);
    }

    pub async fn get(&self, path: &str) -> Page {
        let r = self
            .app
            .http
            .get(self.app.url(path))
            .header("cookie", &self.cookie)
            .send()
            .await
            .unwrap();
        page(r).await
    }

    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> Page {
        let r = self
            .app
            .http
            .post(self.app.url(path))
            .header("cookie", &self.cookie)
            .form(form)
            .send()
            .await
            .unwrap();
        page(r).await
    }
}

async fn page(r: reqwest::Response) -> Page {
    let status = r.status();
    let location = r
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_string())
        .unwrap_or_default();
    let set_cookie = r
        .headers()
        .get("set-cookie")
        .map(|c| c.to_str().unwrap().split(';').next().unwrap().to_string());
    Page {
        status,
        location,
        set_cookie,
        body: r.text().await.unwrap(),
    }
}

async fn dealer_of(app: &TestApp, token: &str) -> uuid::Uuid {
    app.get("/api/v1/me", token).await.body["dealer_id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap()
}

/// The text of the board's card of one figure.
fn card<'p>(page: &'p Page, figure: &str) -> &'p str {
    let at = page
        .body
        .find(&format!("data-figure=\"{figure}\""))
        .unwrap_or_else(|| panic!("no {figure} on {}", page.body));
    &page.body[at..(at + 400).min(page.body.len())]
}

#[tokio::test]
async fn a_network_admin_picks_whose_board_to_look_at() {
    let app = spawn_app_with(&[
        ("SERVICELANE__AUTH__ACCESS_TTL_SECS", "864000"),
        NO_DISPATCHER,
    ])
    .await;
    let north = floor(&app, "NORTH").await;
    delivered(&app, &north, 1).await;
    let south = floor(&app, "SOUTH").await;
    app.user(
        dealer_of(&app, &south.s.advisor).await,
        "brand",
        Role::NetworkAdmin,
    )
    .await;
    let mut b = Browser::login(&app, "SOUTH", "brand").await;
    // their own dealer's board first, the picker listing the network
    let own = b.get("/console/board").await;
    assert_eq!(own.status, StatusCode::OK, "{}", own.body);
    assert!(
        own.body.contains("<option value=\"NORTH\">"),
        "{}",
        own.body
    );
    assert!(own.body.contains("<option value=\"SOUTH\" selected>"));
    assert!(!card(&own, "revenue").contains("587.00"));
    // an unknown dealer is refused, and nothing changes
    let bad = b
        .post(
            "/console/dealer",
            &[("csrf", &own.csrf()), ("dealer", "NOWHERE")],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.set_cookie.is_none());
    let picked = b
        .post(
            "/console/dealer",
            &[("csrf", &own.csrf()), ("dealer", "NORTH")],
        )
        .await;
    assert_eq!(picked.status, StatusCode::SEE_OTHER, "{}", picked.body);
    assert_eq!(picked.location, "/console/board");
    b.keep(picked.set_cookie.as_deref().unwrap());
    let theirs = b.get("/console/board").await;
    assert!(theirs.body.contains("<option value=\"NORTH\" selected>"));
    assert!(
        card(&theirs, "revenue").contains("587.00"),
        "{}",
        card(&theirs, "revenue")
    );
    assert!(card(&theirs, "vehicles_delivered").contains("<div class=\"value\">1</div>"));
    // without the form's token the pick is refused
    let forged = b
        .post("/console/dealer", &[("csrf", "x"), ("dealer", "SOUTH")])
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    // a dealer's own manager has no picker and cannot pick
    let m = Browser::login(&app, "NORTH", "service_manager").await;
    let board = m.get("/console/board").await;
    assert!(!board.body.contains("/console/dealer"));
    let refused = m
        .post(
            "/console/dealer",
            &[("csrf", &board.csrf()), ("dealer", "SOUTH")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn staff_log_in_to_the_console_and_work_the_callback_list_and_a_case() {
    let app = spawn_app_with(&[
        ("SERVICELANE__AUTH__ACCESS_TTL_SECS", "864000"),
        NO_DISPATCHER,
    ])
    .await;
    let f = floor(&app, "DESK").await;
    let dealer = app.get("/api/v1/me", &f.s.advisor).await.body["dealer_id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    app.user(dealer, "desk.li", Role::CustomerCare).await;
    delivered(&app, &f, 1).await;

    // no session: the login page; a wrong password says so, nothing more
    let anon = app
        .http
        .get(app.url("/console/board"))
        .send()
        .await
        .unwrap();
    assert_eq!(anon.status(), StatusCode::SEE_OTHER);
    assert_eq!(anon.headers()["location"], "/console/login");
    let login = app
        .http
        .get(app.url("/console/login"))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), StatusCode::OK);
    assert!(login.text().await.unwrap().contains("经销商代码"));
    let wrong = app
        .http
        .post(app.url("/console/login?lang=en"))
        .form(&[
            ("dealer_code", "DESK"),
            ("username", "desk.li"),
            ("password", "nope"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert!(
        wrong
            .headers()
            .get("set-cookie")
            .is_none_or(|c| !c.to_str().unwrap().contains("sl_console"))
    );
    assert!(
        wrong
            .text()
            .await
            .unwrap()
            .contains("Dealer code, username or password is wrong")
    );

    // a login posted from another site is refused before any password is checked
    let cross = app
        .http
        .post(app.url("/console/login"))
        .header("origin", "https://evil.example")
        .form(&[
            ("dealer_code", "DESK"),
            ("username", "desk.li"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(cross.status(), StatusCode::FORBIDDEN);
    assert!(cross.headers().get("set-cookie").is_none());

    let b = Browser::login(&app, "DESK", "desk.li").await;
    let board = b.get("/console/board").await;
    assert_eq!(board.status, StatusCode::OK, "{}", board.body);
    assert!(board.body.contains("看板") && board.body.contains("data-figure=\"callbacks_due\""));
    assert_eq!(
        board
            .body
            .matches("class=\"card figure\" data-state=")
            .count(),
        5,
        "the five states a car is on site in"
    );

    // tomorrow's list has the delivered order's follow-up, with its script
    let tomorrow =
        app.clock.now_utc().with_timezone(&f.s.tz).date_naive() + chrono::Duration::days(1);
    let list = b.get(&format!("/console/callbacks?date={tomorrow}")).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    assert!(list.body.contains("维修后回访") && list.body.contains("+8613900000001"));
    let at = list.body.find("data-id=\"").unwrap() + 9;
    let id = list.body[at..at + 36].to_string();
    // a form without the session's token is refused, nothing claimed
    let forged = b
        .post(&format!("/console/callbacks/{id}/claim"), &[("csrf", "0")])
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let api_view = app
        .get(&format!("/api/v1/callbacks/{id}"), &f.s.manager)
        .await;
    assert_eq!(api_view.body["claimed_by"], serde_json::Value::Null);
    let claimed = b
        .post(
            &format!("/console/callbacks/{id}/claim"),
            &[("csrf", &list.csrf())],
        )
        .await;
    assert_eq!(claimed.status, StatusCode::SEE_OTHER);
    assert_eq!(claimed.location, format!("/console/callbacks/{id}"));
    let entry = b.get(&claimed.location).await;
    assert!(entry.body.contains("更换前刹车片") && entry.body.contains("id=\"outcome-form\""));
    let done = b
        .post(
            &format!("/console/callbacks/{id}/outcome"),
            &[
                ("csrf", &entry.csrf()),
                ("result", "reached"),
                ("at", ""),
                ("note", "客户满意"),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let api_view = app
        .get(&format!("/api/v1/callbacks/{id}"), &f.s.manager)
        .await;
    assert_eq!(api_view.body["state"], "done");
    assert_eq!(api_view.body["calls"][0]["note"], "客户满意");

    // a case opened by phone, contacted, an action out of order refused
    let cases = b.get("/console/cases").await;
    let opened = b
        .post(
            "/console/cases",
            &[
                ("csrf", &cases.csrf()),
                ("phone", "13900000001"),
                ("category", "time"),
                ("severity", "medium"),
                ("summary", "电话投诉：交车晚了"),
            ],
        )
        .await;
    assert_eq!(opened.status, StatusCode::SEE_OTHER, "{}", opened.body);
    let case_page = b.get(&opened.location).await;
    assert!(case_page.body.contains("电话投诉：交车晚了"));
    let early = b
        .post(
            &format!("{}/act", opened.location),
            &[
                ("csrf", &case_page.csrf()),
                ("action", "verify"),
                ("note", "x"),
            ],
        )
        .await;
    assert_eq!(early.status, StatusCode::CONFLICT);
    let contacted = b
        .post(
            &format!("{}/act", opened.location),
            &[
                ("csrf", &case_page.csrf()),
                ("action", "contact"),
                ("note", "已致电道歉"),
            ],
        )
        .await;
    assert_eq!(contacted.status, StatusCode::SEE_OTHER);
    let case_id = opened.location.rsplit('/').next().unwrap();
    let api_case = app
        .get(&format!("/api/v1/cases/{case_id}"), &f.s.manager)
        .await;
    assert_eq!(api_case.body["state"], "contacted");

    // English on request, remembered; logging out ends the session
    let en = b.get("/console/cases?lang=en").await;
    assert!(en.body.contains("Unhappy customers"));
    let out = b.post("/console/logout", &[("csrf", &en.csrf())]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(b.get("/console/board").await.location, "/console/login");

    // the manager's board carries the day's figures beside yesterday's and the month's
    let m = Browser::login(&app, "DESK", "service_manager").await;
    let board = m.get("/console/board").await;
    assert_eq!(board.status, StatusCode::OK, "{}", board.body);
    let at = board
        .body
        .find("data-figure=\"revenue\"")
        .expect("the revenue figure");
    let card = &board.body[at..at + 400];
    assert!(card.contains("587.00"), "{card}");
    let at = board
        .body
        .find("data-figure=\"vehicles_delivered\"")
        .unwrap();
    assert!(board.body[at..at + 300].contains("<div class=\"value\">1</div>"));
    let trends = m.get("/console/trends").await;
    assert_eq!(trends.status, StatusCode::OK, "{}", trends.body);
    assert_eq!(trends.body.matches("<svg").count(), 4);
    assert!(trends.body.contains("营业额"));
    // the desk's agent has no KPIs: no figures, no trends
    assert!(!b2_board_has_figures(&app).await);

    // a technician's session: the board is not theirs
    let tech = Browser::login(&app, "DESK", "technician").await;
    let refused = tech.get("/console/board").await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
}

async fn b2_board_has_figures(app: &TestApp) -> bool {
    let b = Browser::login(app, "DESK", "desk.li").await;
    let board = b.get("/console/board").await;
    assert_eq!(b.get("/console/trends").await.status, StatusCode::FORBIDDEN);
    board.body.contains("data-figure=\"revenue\"")
}
