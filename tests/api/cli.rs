//! The `servicelane` command itself: admin and import, against a real database.

use std::io::Write;
use std::process::{Command, Stdio};

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

/// Runs `servicelane <command line>` (split on spaces) beside the test's app.
fn servicelane(app: &TestApp, command: &str, stdin: &str) -> (bool, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_servicelane"))
        .args(command.split_whitespace())
        .env(
            "SERVICELANE_CONFIG_DIR",
            concat!(env!("CARGO_MANIFEST_DIR"), "/config"),
        )
        .env("SERVICELANE__PROFILE", "test")
        .env("SERVICELANE__DATABASE__URL", &app.database_url)
        .env("SERVICELANE__DATA_DIR", &app.data_dir)
        .env(
            "SERVICELANE__AUTH__JWT_SECRET",
            "test-secret-test-secret-test-secret-0123",
        )
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[tokio::test]
async fn an_admin_creates_a_dealer_and_a_user_who_can_then_log_in() {
    let app = spawn_app().await;
    let (ok, out) = servicelane(
        &app,
        "admin create-dealer --code moon --name 月亮4S店 --timezone Asia/Urumqi",
        "",
    );
    assert!(ok, "{out}");
    assert!(out.contains("dealer MOON created"), "{out}");
    let (ok, out) = servicelane(
        &app,
        "admin create-user --dealer MOON --username li --role service_advisor --role customer_care",
        "a long enough password\n",
    );
    assert!(ok, "{out}");
    let t = app
        .post(
            "/api/v1/auth/login",
            None,
            &json!({"dealer_code": "MOON", "username": "li", "password": "a long enough password"}),
        )
        .await;
    assert_eq!(t.status, StatusCode::OK, "{}", t.body);
    let me = app
        .get("/api/v1/me", t.body["access_token"].as_str().unwrap())
        .await;
    assert_eq!(
        me.body["roles"],
        json!(["service_advisor", "customer_care"])
    );
    assert_eq!(me.body["timezone"], "Asia/Urumqi");

    let (ok, out) = servicelane(
        &app,
        "admin create-user --dealer MOON --username wu --role boss",
        "whatever-password\n",
    );
    assert!(!ok && out.contains("unknown role 'boss'"), "{out}");
    let (ok, out) = servicelane(
        &app,
        "admin create-user --dealer MOON --username wu --role cashier",
        "short\n",
    );
    assert!(!ok && out.contains("password"), "{out}");
    let (ok, out) = servicelane(
        &app,
        "admin create-dealer --code X --name x --timezone Mars/Olympus",
        "",
    );
    assert!(!ok && out.contains("timezone"), "{out}");
    let (ok, out) = servicelane(&app, "migrate", "");
    assert!(ok && out.contains("migrations applied"), "{out}");
}

#[tokio::test]
async fn the_import_command_reports_rejected_lines_and_a_dry_run_saves_nothing() {
    let app = spawn_app().await;
    let (_, token) = app
        .staff("STAR", servicelane::domain::Role::ServiceAdvisor)
        .await;
    let file = app.data_dir.join("export.csv");
    std::fs::write(
        &file,
        format!("name,phone,vin,plate,make,model\n王伟,13800000099,{},京A99999,大众,朗逸\n坏行,123,XX,京A1,a,b\n", vin(77)),
    )
    .unwrap();
    let path = file.to_str().unwrap();
    let (ok, out) = servicelane(
        &app,
        &format!("import customers {path} --dealer STAR --dry-run"),
        "",
    );
    assert!(ok, "{out}");
    assert!(
        out.contains("dry run")
            && out.contains("line 3: ")
            && out.contains("phone")
            && out.contains("vin"),
        "{out}"
    );
    assert_eq!(
        app.get("/api/v1/customers", &token).await.body["items"],
        json!([])
    );
    let (ok, out) = servicelane(&app, &format!("import customers {path} --dealer STAR"), "");
    assert!(ok && out.contains("1 customers created"), "{out}");
    let (ok, out) = servicelane(&app, &format!("import customers {path} --dealer STAR"), "");
    assert!(
        ok && out.contains("0 customers created, 1 already there"),
        "{out}"
    );
    assert_eq!(
        app.get("/api/v1/customers", &token).await.body["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}
