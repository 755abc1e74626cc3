//! The `servicelane` command itself: admin and import, against a real database.

use std::io::Write;
use std::process::{Command, Stdio};

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

/// Runs `servicelane <command line>` (split on spaces) beside the test's app.
pub(crate) fn servicelane(app: &TestApp, command: &str, stdin: &str) -> (bool, String) {
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
    // the reasons in Chinese by default, every one of the line's
    assert!(
        out.contains("dry run")
            && out.contains("(UTF-8)")
            && out.contains("line 3: 手机：不是大陆手机号")
            && out.contains("；车架号：必须是 17 位（实际 2 位）"),
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

#[tokio::test]
async fn the_import_command_reads_gb18030_and_workbooks_and_writes_a_report_of_rejected_rows() {
    let app = spawn_app().await;
    let (_, token) = app
        .staff("STAR", servicelane::domain::Role::ServiceManager)
        .await;
    let text = format!(
        "姓名,手机,车架号,车牌,品牌,车型,生日\n王伟,13800000099,{},京A99999,大众,朗逸,农历08-15\n坏行,123,XX,京A1,a,b,someday\n李四,13800000098,{},,丰田,卡罗拉,\n",
        vin(77),
        vin(78)
    );
    let (gb, _, _) = encoding_rs::GB18030.encode(&text);
    let file = app.data_dir.join("客户.csv");
    std::fs::write(&file, &gb).unwrap();
    let path = file.to_str().unwrap();
    let report = app.data_dir.join("rejected.csv");
    let report_path = report.to_str().unwrap();
    let (ok, out) = servicelane(
        &app,
        &format!("import customers {path} --dealer STAR --report {report_path} --locale en"),
        "",
    );
    assert!(ok, "{out}");
    assert!(
        out.contains("3 rows (GB18030): 2 customers created")
            && out.contains("line 3: birthday: 'someday' is not YYYY-MM-DD")
            && out.contains("; phone: is not a mainland mobile number"),
        "{out}"
    );
    let written = std::fs::read(&report).unwrap();
    assert!(written.starts_with(b"\xEF\xBB\xBF"), "a BOM for Excel");
    let mut rows = csv::Reader::from_reader(&written[3..]);
    assert_eq!(
        rows.headers().unwrap().iter().collect::<Vec<_>>(),
        [
            "line",
            "reasons",
            "姓名",
            "手机",
            "车架号",
            "车牌",
            "品牌",
            "车型",
            "生日"
        ]
    );
    let rows: Vec<csv::StringRecord> = rows.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 1);
    assert_eq!(&rows[0][0], "3");
    let reasons: Vec<&str> = rows[0][1].split("; ").collect();
    assert_eq!(
        reasons
            .iter()
            .map(|r| r.split(':').next().unwrap())
            .collect::<Vec<_>>(),
        ["birthday", "phone", "vin", "plate"],
        "{reasons:?}"
    );
    assert_eq!(
        rows[0].iter().skip(2).collect::<Vec<_>>(),
        ["坏行", "123", "XX", "京A1", "a", "b", "someday"]
    );

    // the same in Chinese
    let (ok, out) = servicelane(
        &app,
        &format!("import customers {path} --dealer STAR --encoding gbk --report {report_path}"),
        "",
    );
    assert!(
        ok && out.contains("(GBK): 0 customers created, 2 already there"),
        "{out}"
    );
    let written = String::from_utf8(std::fs::read(&report).unwrap()).unwrap();
    assert!(written.starts_with("\u{feff}行号,原因,姓名"), "{written}");
    assert!(written.contains("手机：不是大陆手机号"), "{written}");

    // a byte that is no encoding's stops the import before anything is saved
    let mut bad = gb.to_vec();
    let third = bad
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == b'\n')
        .nth(2)
        .unwrap()
        .0
        + 1;
    bad.insert(third + 2, 0xFF);
    std::fs::write(&file, &bad).unwrap();
    let (ok, out) = servicelane(&app, &format!("import customers {path} --dealer STAR"), "");
    assert!(!ok, "{out}");
    assert!(
        out.contains(
            "line 4, byte 3: byte 0xFF cannot be read as UTF-8, UTF-16 (with BOM) or GB18030"
        ),
        "{out}"
    );

    // a workbook: the sheet named, a phone typed as a number
    let xlsx = app.data_dir.join("客户.xlsx");
    let mut book = rust_xlsxwriter::Workbook::new();
    book.add_worksheet().set_name("封面").unwrap();
    let sheet = book.add_worksheet();
    sheet.set_name("名单").unwrap();
    for (c, h) in ["姓名", "手机", "车架号", "品牌", "车型"]
        .iter()
        .enumerate()
    {
        sheet.write_string(0, c as u16, *h).unwrap();
    }
    sheet.write_string(1, 0, "周六").unwrap();
    sheet.write_number(1, 1, 13800000097.0).unwrap();
    sheet.write_string(1, 2, vin(79)).unwrap();
    sheet.write_string(1, 3, "大众").unwrap();
    sheet.write_string(1, 4, "帕萨特").unwrap();
    book.save(&xlsx).unwrap();
    let xlsx = xlsx.to_str().unwrap();
    let (ok, out) = servicelane(&app, &format!("import customers {xlsx} --dealer STAR"), "");
    assert!(
        !ok && out.contains("the sheet '封面' is empty (the workbook has: 封面, 名单)"),
        "{out}"
    );
    let (ok, out) = servicelane(
        &app,
        &format!("import customers {xlsx} --dealer STAR --sheet 名单"),
        "",
    );
    assert!(
        ok && out.contains("1 rows (xlsx): 1 customers created"),
        "{out}"
    );
    let found = app.get("/api/v1/customers?q=13800000097", &token).await;
    assert_eq!(found.body["items"][0]["name"], "周六", "{}", found.body);
}
