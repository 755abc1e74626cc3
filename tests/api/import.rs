use reqwest::StatusCode;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::Value;
use servicelane::domain::Role;
use servicelane::entities::{customer, vehicle};
use servicelane::services::import::{ReadError, ReadOptions, Table, import_customers, read_file};
use uuid::Uuid;

use crate::helpers::*;

fn table(csv: &str) -> Table {
    read_file(csv.as_bytes(), &ReadOptions::default()).unwrap()
}

#[tokio::test]
async fn an_import_keeps_good_rows_reports_bad_ones_and_never_duplicates() {
    let app = spawn_app().await;
    let (dealer, token) = app.staff("STAR", Role::ServiceAdvisor).await;
    let csv = format!(
        "姓名,手机,车架号,车牌,品牌,车型,年款,生日,上次保养里程\n\
         王小明,13800000001,{},京A12345,大众,朗逸,2020,1985-03-12,12000\n\
         李娜,12345,{},京A12346,丰田,凯美瑞,2021,,\n\
         张伟,13800000003,1M8GDM9A1KP042788,京A12347,本田,雅阁,2019,,\n\
         王小明,13800000001,{},沪AD12345,比亚迪,汉 EV,2023,,\n\
         赵敏,13800000005,{},京A12348,日产,轩逸,2022,农历闰04-15,not-a-number\n",
        vin(1),
        vin(2),
        vin(3),
        vin(5)
    );
    let csv = table(&csv);
    let now = app.clock.now_utc();

    let dry = import_customers(&app.state.db, dealer, &csv, true, now, |_, _| {})
        .await
        .unwrap();
    assert_eq!(
        (dry.counts.customers_created, dry.counts.vehicles_created),
        (1, 2)
    );
    assert_eq!(
        app.get("/api/v1/customers", &token).await.body["items"]
            .as_array()
            .unwrap()
            .len(),
        0,
        "dry run saved something"
    );

    let mut seen = 0;
    let report = import_customers(&app.state.db, dealer, &csv, false, now, |done, total| {
        seen = done;
        assert_eq!(total, 5);
    })
    .await
    .unwrap();
    assert_eq!(seen, 5);
    assert_eq!(report.rows, 5);
    assert_eq!(report.encoding, "UTF-8");
    assert_eq!(
        (
            report.counts.customers_created,
            report.counts.customers_existing,
            report.counts.vehicles_created
        ),
        (
            dry.counts.customers_created,
            dry.counts.customers_existing,
            dry.counts.vehicles_created
        ),
        "a dry run counts as a real run"
    );
    assert_eq!(report.counts.customers_created, 1);
    assert_eq!(report.counts.customers_existing, 1);
    assert_eq!(report.counts.vehicles_created, 2);
    let rejected: Vec<(u64, Vec<&str>)> = report
        .rejected
        .iter()
        .map(|r| (r.line, r.reasons.iter().map(|r| r.field.as_str()).collect()))
        .collect();
    assert_eq!(
        rejected,
        [
            (3, vec!["phone"]),
            (4, vec!["vin"]),
            (6, vec!["last_service_km"])
        ],
        "{rejected:?}"
    );
    assert_eq!(
        report.rejected[0].values[1],
        ("手机".into(), "12345".into())
    );

    let list = app.get("/api/v1/customers?q=13800000001", &token).await;
    let wang = &list.body["items"][0];
    assert_eq!(wang["birthday"]["year"], 1985);
    let vehicles = app
        .get(
            &format!(
                "/api/v1/customers/{}/vehicles",
                wang["id"].as_str().unwrap()
            ),
            &token,
        )
        .await;
    assert_eq!(vehicles.body.as_array().unwrap().len(), 2);

    let again = import_customers(&app.state.db, dealer, &csv, false, now, |_, _| {})
        .await
        .unwrap();
    assert_eq!(
        (
            again.counts.customers_created,
            again.counts.vehicles_created
        ),
        (0, 0)
    );
    assert_eq!(again.counts.vehicles_existing, 2);
    assert_eq!(
        app.get("/api/v1/customers", &token).await.body["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

const HEADER: [&str; 12] = [
    "姓名",
    "手机",
    "邮箱",
    "生日",
    "车架号",
    "车牌",
    "品牌",
    "车型",
    "年款",
    "购车日期",
    "上次保养日期",
    "上次保养里程",
];

/// The same customers every format must give: Chinese text, a lunar leap-month
/// birthday, a customer with two vehicles, one without any, a VIN starting with 0.
fn sample_rows() -> Vec<Vec<String>> {
    let zero_vin = servicelane::domain::Vin::with_check_digit("0SVAU2180N2000099")
        .unwrap()
        .to_string();
    [
        [
            "王小明",
            "13800000001",
            "wang@example.com",
            "1985-03-12",
            &vin(1),
            "京A12345",
            "大众",
            "朗逸",
            "2020",
            "2020-05-01",
            "2024-03-12",
            "12000",
        ],
        [
            "李娜",
            "13800000002",
            "",
            "农历闰04-15",
            &vin(2),
            "沪AD12345",
            "比亚迪",
            "汉 EV",
            "2023",
            "2023-01-15",
            "",
            "",
        ],
        [
            "张伟",
            "13800000003",
            "",
            "",
            &zero_vin,
            "粤B12345",
            "丰田",
            "凯美瑞",
            "2019",
            "",
            "2023-11-30",
            "45000",
        ],
        [
            "王小明",
            "13800000001",
            "",
            "",
            &vin(4),
            "京A54321",
            "本田",
            "雅阁",
            "2021",
            "",
            "",
            "",
        ],
        [
            "赵敏",
            "13800000005",
            "zhao@example.com",
            "03-12",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
        ],
    ]
    .iter()
    .map(|r| r.iter().map(|c| c.to_string()).collect())
    .collect()
}

fn sample_csv() -> String {
    let mut out = HEADER.join(",") + "\r\n";
    for r in sample_rows() {
        out += &(r.join(",") + "\r\n");
    }
    out
}

/// The sample as a workbook on a second sheet, cells typed as Excel users
/// type them: a phone and numbers as numbers, a date as a date cell, another
/// as a bare serial number, the VIN with its leading zero as text.
fn sample_xlsx() -> Vec<u8> {
    use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
    let mut book = Workbook::new();
    let notes = book.add_worksheet();
    notes.set_name("说明").unwrap();
    notes.write_string(0, 0, "客户名单见下一页").unwrap();
    let sheet = book.add_worksheet();
    sheet.set_name("客户").unwrap();
    let date = Format::new().set_num_format("yyyy/m/d");
    for (c, h) in HEADER.iter().enumerate() {
        sheet.write_string(0, c as u16, *h).unwrap();
    }
    for (r, row) in sample_rows().iter().enumerate() {
        let r = r as u32 + 1;
        for (c, v) in row.iter().enumerate() {
            let col = c as u16;
            match (r, HEADER[c]) {
                (_, _) if v.is_empty() => {}
                (3, "手机") | (_, "年款") | (_, "上次保养里程") => {
                    sheet
                        .write_number(r, col, v.parse::<f64>().unwrap())
                        .unwrap();
                }
                (1, "购车日期") => {
                    let d = ExcelDateTime::parse_from_str(v).unwrap();
                    sheet.write_datetime_with_format(r, col, &d, &date).unwrap();
                }
                (1, "上次保养日期") => {
                    // 2024-03-12 as the serial number a cell without a date format shows
                    assert_eq!(v, "2024-03-12");
                    sheet.write_number(r, col, 45363.0).unwrap();
                }
                _ => {
                    sheet.write_string(r, col, v).unwrap();
                }
            }
        }
    }
    book.save_to_buffer().unwrap()
}

type Snapshot = (Vec<String>, Vec<String>);

/// A dealer's customers and vehicles without ids and times, in a fixed order.
async fn snapshot(app: &TestApp, dealer: Uuid) -> Snapshot {
    let customers = customer::Entity::find()
        .filter(customer::Column::DealerId.eq(dealer))
        .all(&app.state.db)
        .await
        .unwrap();
    let phone_of = |id: Uuid| {
        customers
            .iter()
            .find(|c| c.id == id)
            .map(|c| c.phone.clone())
            .unwrap()
    };
    let mut c: Vec<String> = customers
        .iter()
        .map(|c| {
            format!(
                "{} {} {:?} {:?} {:?} {:?} {:?} {:?} {} {} v{} {}",
                c.name,
                c.phone,
                c.email,
                c.birthday_calendar,
                c.birthday_month,
                c.birthday_day,
                c.birthday_leap,
                c.birthday_year,
                c.consents,
                c.tags,
                c.version,
                c.updated_at == c.created_at
            )
        })
        .collect();
    c.sort();
    let mut v: Vec<String> = vehicle::Entity::find()
        .filter(vehicle::Column::DealerId.eq(dealer))
        .all(&app.state.db)
        .await
        .unwrap()
        .iter()
        .map(|v| {
            format!(
                "{} {} {:?} {} {} {:?} {:?} {:?} {:?} {:?} v{} {}",
                phone_of(v.customer_id),
                v.vin,
                v.plate,
                v.make,
                v.model,
                v.model_year,
                v.purchase_date,
                v.last_service_date,
                v.last_service_km,
                v.odometer_km,
                v.version,
                v.updated_at == v.created_at
            )
        })
        .collect();
    v.sort();
    (c, v)
}

#[tokio::test]
async fn the_same_rows_from_utf8_bom_gb18030_utf16_and_xlsx_give_identical_customers_and_vehicles()
{
    let app = spawn_app().await;
    let csv = sample_csv();
    let (gb, _, unmappable) = encoding_rs::GB18030.encode(&csv);
    assert!(!unmappable);
    let mut utf16 = vec![0xFF, 0xFE];
    utf16.extend(csv.encode_utf16().flat_map(|u| u.to_le_bytes()));
    let files: Vec<(&str, Vec<u8>, ReadOptions, &str)> = vec![
        (
            "UTF8",
            csv.clone().into_bytes(),
            ReadOptions::default(),
            "UTF-8",
        ),
        (
            "BOM",
            [b"\xEF\xBB\xBF".as_slice(), csv.as_bytes()].concat(),
            ReadOptions::default(),
            "UTF-8 (BOM)",
        ),
        ("GB", gb.to_vec(), ReadOptions::default(), "GB18030"),
        (
            "GBK",
            gb.to_vec(),
            ReadOptions {
                encoding: Some("gbk".into()),
                sheet: None,
            },
            "GBK",
        ),
        ("UTF16", utf16, ReadOptions::default(), "UTF-16LE (BOM)"),
        (
            "XLSX",
            sample_xlsx(),
            ReadOptions {
                encoding: None,
                sheet: Some("客户".into()),
            },
            "xlsx",
        ),
    ];
    let mut snapshots = Vec::new();
    for (code, bytes, opts, encoding) in files {
        let dealer = app.dealer(code).await;
        let t = read_file(&bytes, &opts).unwrap_or_else(|e| panic!("{code}: {e}"));
        let report = import_customers(
            &app.state.db,
            dealer,
            &t,
            false,
            app.clock.now_utc(),
            |_, _| {},
        )
        .await
        .unwrap();
        assert_eq!(report.encoding, encoding);
        assert!(report.rejected.is_empty(), "{code}: {:?}", report.rejected);
        assert_eq!(
            (
                report.counts.customers_created,
                report.counts.vehicles_created
            ),
            (4, 4),
            "{code}"
        );
        snapshots.push((code, snapshot(&app, dealer).await));
    }
    let (_, first) = &snapshots[0];
    assert_eq!(first.0.len(), 4);
    assert_eq!(first.1.len(), 4);
    assert!(
        first.0.iter().any(|c| c.starts_with("李娜 +8613800000002")
            && c.contains("Some(Lunar) Some(4) Some(15) Some(true)")),
        "{first:?}"
    );
    assert!(
        first
            .1
            .iter()
            .any(|v| v.contains(" 0SVAU218") && v.contains("Some(45000)")),
        "{first:?}"
    );
    assert!(
        first
            .1
            .iter()
            .any(|v| v.contains("Some(2020-05-01) Some(2024-03-12)")),
        "{first:?}"
    );
    for (code, s) in &snapshots[1..] {
        assert_eq!(s, first, "{code} differs from UTF-8");
    }

    // the first sheet is read unless one is named; a wrong name lists the sheets
    let e = read_file(&sample_xlsx(), &ReadOptions::default()).unwrap_err();
    assert!(e.to_string().contains("'name'"), "{e}");
    let e = read_file(
        &sample_xlsx(),
        &ReadOptions {
            encoding: None,
            sheet: Some("Sheet9".into()),
        },
    )
    .unwrap_err();
    assert_eq!(e.field(), "sheet");
    assert!(e.to_string().contains("说明, 客户"), "{e}");
}

#[tokio::test]
async fn a_gb18030_file_with_a_bad_byte_is_refused_naming_its_line() {
    let app = spawn_app().await;
    let (_, token) = app.staff("STAR", Role::ServiceManager).await;
    let csv = sample_csv();
    let (gb, _, _) = encoding_rs::GB18030.encode(&csv);
    let mut bad = gb.to_vec();
    // the third line's first name character: a lead byte followed by a byte no trail can be
    let third = bad
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == b'\n')
        .nth(1)
        .unwrap()
        .0
        + 1;
    bad.insert(third, 0xFF);
    let e = read_file(&bad, &ReadOptions::default()).unwrap_err();
    let ReadError::Decode { line, column, .. } = &e else {
        panic!("{e}")
    };
    assert_eq!((*line, *column), (3, 1), "{e}");
    assert!(e.to_string().starts_with("line 3, byte 1:"), "{e}");

    // the API refuses it at once, naming the file and the line
    let a = app.upload_import(&token, "bad.csv", &bad, &[]).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.body);
    assert_eq!(a.content_type(), "application/problem+json");
    assert_eq!(a.problem_fields(), ["file"]);
    assert!(
        a.body["detail"].as_str().unwrap().contains("line 3"),
        "{}",
        a.body
    );

    // a named encoding that does not fit is refused too, an unknown one named
    let a = app
        .upload_import(&token, "gb.csv", &gb, &[("encoding", "utf-8")])
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.body);
    assert!(
        a.body["detail"].as_str().unwrap().contains("line 1"),
        "{}",
        a.body
    );
    let a = app
        .upload_import(&token, "gb.csv", &gb, &[("encoding", "klingon")])
        .await;
    assert_eq!(a.problem_fields(), ["encoding"]);
}

#[tokio::test]
async fn the_api_imports_a_20000_row_file_as_a_job_that_reports_progress() {
    let app = spawn_app().await;
    let (dealer, token) = app.staff("STAR", Role::DealerAdmin).await;
    let mut csv = String::from("name,phone,vin,plate,make,model,model_year,last_service_km\n");
    let bad_every = 1000;
    for n in 0..20_000u32 {
        if n % bad_every == 7 {
            // a bad phone and a bad VIN: two reasons
            csv += &format!("坏{n},123,XX{n},,大众,朗逸,2020,\n");
        } else {
            csv += &format!(
                "客户{n},139{:08},{},京A{:05},大众,朗逸,2020,{}\n",
                n,
                vin(n),
                n,
                n * 10
            );
        }
    }
    let a = app
        .upload_import(&token, "big.csv", csv.as_bytes(), &[])
        .await;
    assert_eq!(a.status, StatusCode::ACCEPTED, "{}", a.body);
    assert_eq!(a.body["state"], "queued");
    assert_eq!(a.body["progress"]["rows_total"], 20_000);
    assert_eq!(a.body["progress"]["rows_done"], 0);
    assert_eq!(a.body["encoding"], "UTF-8");
    assert_eq!(a.body["file_name"], "big.csv");
    let id = a.body["id"].as_str().unwrap().to_string();
    assert_eq!(
        a.headers.get("location").unwrap().to_str().unwrap(),
        format!("/api/v1/imports/{id}")
    );

    let seen = app.wait_for_import(&token, &id).await;
    let mut last = 0;
    for s in &seen {
        let done = s["progress"]["rows_done"].as_i64().unwrap();
        assert_eq!(s["progress"]["rows_total"], 20_000);
        assert!(done >= last && done <= 20_000, "{s}");
        // progress moves a committed batch at a time
        assert!(done % 500 == 0, "{s}");
        assert!(
            ["queued", "running", "done"].contains(&s["state"].as_str().unwrap()),
            "{s}"
        );
        if s["state"] == "queued" {
            assert_eq!(done, 0);
        }
        last = done;
    }
    let end = seen.last().unwrap();
    assert_eq!(end["state"], "done", "{end}");
    assert_eq!(end["progress"]["rows_done"], 20_000);
    let bad = 20_000 / bad_every as i64;
    assert_eq!(end["counts"]["customers_created"], 20_000 - bad);
    assert_eq!(end["counts"]["vehicles_created"], 20_000 - bad);
    assert_eq!(end["counts"]["customers_existing"], 0);
    assert_eq!(end["counts"]["rejected"], bad);
    assert_eq!(end["attempts"], 1);
    assert!(end["finished_at"].is_string());
    let rejected = end["rejected"].as_array().unwrap();
    assert_eq!(rejected.len() as i64, bad);
    assert_eq!(rejected[0]["line"], 9);
    let fields: Vec<&str> = rejected[0]["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["phone", "vin"]);
    assert!(
        rejected[0]["description"]
            .as_str()
            .unwrap()
            .contains("手机："),
        "{}",
        rejected[0]
    );
    let en = app
        .get(&format!("/api/v1/imports/{id}?locale=en"), &token)
        .await;
    assert!(
        en.body["rejected"][0]["description"]
            .as_str()
            .unwrap()
            .starts_with("phone: is not a mainland mobile number"),
        "{}",
        en.body["rejected"][0]
    );
    let count = customer::Entity::find()
        .filter(customer::Column::DealerId.eq(dealer))
        .all(&app.state.db)
        .await
        .unwrap()
        .len() as i64;
    assert_eq!(count, 20_000 - bad);

    // the report as CSV: line, reasons, the row as read
    let csv = app
        .http
        .get(app.url(&format!("/api/v1/imports/{id}/report.csv?locale=en")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), StatusCode::OK);
    assert!(
        csv.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let text = csv.text().await.unwrap();
    let text = text.strip_prefix('\u{feff}').expect("a BOM for Excel");
    let mut lines = text.lines();
    assert_eq!(
        lines.next().unwrap(),
        "line,reasons,name,phone,vin,plate,make,model,model_year,last_service_km"
    );
    assert_eq!(lines.count() as i64, bad);
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let first = reader.records().next().unwrap().unwrap();
    assert_eq!(&first[0], "9");
    assert!(
        first[1].starts_with("phone: is not a mainland mobile number")
            && first[1].ends_with("; vin: must be exactly 17 characters (got 3)"),
        "{first:?}"
    );
    assert_eq!(
        first.iter().skip(2).collect::<Vec<_>>(),
        ["坏7", "123", "XX7", "", "大众", "朗逸", "2020", ""]
    );
}

#[tokio::test]
async fn a_job_whose_worker_died_is_resumed_once_its_lease_runs_out() {
    use sea_orm::{ActiveModelTrait, Set};
    use servicelane::domain::import::JobState;
    use servicelane::entities::import_job;
    use servicelane::services::import_jobs;

    let app = spawn_app_with(&[("SERVICELANE__IMPORTS__WORKER", "false")]).await;
    let (_, token) = app.staff("STAR", Role::ServiceManager).await;
    let a = app
        .upload_import(&token, "sample.csv", sample_csv().as_bytes(), &[])
        .await;
    assert_eq!(a.status, StatusCode::ACCEPTED, "{}", a.body);
    let id: Uuid = a.body["id"].as_str().unwrap().parse().unwrap();
    // a worker took it and died before its first batch committed
    let job = import_job::Entity::find_by_id(id)
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    let mut am: import_job::ActiveModel = job.into();
    am.state = Set(JobState::Running);
    am.attempts = Set(1);
    am.heartbeat_at = Set(Some(app.clock.now_utc()));
    am.update(&app.state.db).await.unwrap();

    assert_eq!(
        import_jobs::run_next(&app.state).await.unwrap(),
        None,
        "its lease still runs"
    );
    app.clock.advance(chrono::Duration::seconds(61));
    assert_eq!(import_jobs::run_next(&app.state).await.unwrap(), Some(id));
    let end = app.get(&format!("/api/v1/imports/{id}"), &token).await;
    assert_eq!(end.body["state"], "done", "{}", end.body);
    assert_eq!(end.body["attempts"], 2);
    assert_eq!(end.body["progress"]["rows_done"], 5);
    assert_eq!(end.body["counts"]["customers_created"], 4);
    assert_eq!(import_jobs::run_next(&app.state).await.unwrap(), None);
}

#[tokio::test]
async fn imports_are_for_managers_and_stay_within_their_dealer() {
    let app = spawn_app().await;
    let (_, manager) = app.staff("STAR", Role::ServiceManager).await;
    let (_, advisor) = app.staff("STAR", Role::ServiceAdvisor).await;
    let (_, other) = app.staff("MOON", Role::DealerAdmin).await;
    let file = sample_csv();

    let a = app
        .upload_import(&advisor, "a.csv", file.as_bytes(), &[])
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", a.body);
    assert_eq!(a.content_type(), "application/problem+json");
    let a = app.get("/api/v1/customers/export", &advisor).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);

    let a = app
        .upload_import(&manager, "a.csv", file.as_bytes(), &[("dry_run", "true")])
        .await;
    assert_eq!(a.status, StatusCode::ACCEPTED, "{}", a.body);
    assert_eq!(a.body["dry_run"], true);
    let id = a.body["id"].as_str().unwrap().to_string();
    for path in [
        format!("/api/v1/imports/{id}"),
        format!("/api/v1/imports/{id}/report.csv"),
    ] {
        let a = app.get(&path, &other).await;
        assert_eq!(a.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(app.get(&path, &advisor).await.status, StatusCode::FORBIDDEN);
    }
    let end = app.wait_for_import(&manager, &id).await;
    let end = end.last().unwrap();
    assert_eq!(end["counts"]["customers_created"], 4);
    assert_eq!(
        app.get("/api/v1/customers", &manager).await.body["items"],
        Value::Array(vec![]),
        "a dry run saves nothing"
    );

    // the form is checked field by field
    let a = app
        .upload_import(&manager, "a.csv", file.as_bytes(), &[("dry_run", "maybe")])
        .await;
    assert_eq!(a.problem_fields(), ["dry_run"]);
    let a = app
        .upload_import(&manager, "a.csv", file.as_bytes(), &[("colour", "red")])
        .await;
    assert_eq!(a.problem_fields(), ["colour"]);
    let long = "表".repeat(40);
    let a = app
        .upload_import(&manager, "a.xlsx", &sample_xlsx(), &[("sheet", &long)])
        .await;
    assert_eq!(a.problem_fields(), ["sheet"]);
    let a = app
        .upload_import(&manager, "a.xlsx", &sample_xlsx(), &[("sheet", "名单")])
        .await;
    assert_eq!(a.problem_fields(), ["sheet"]);
    assert!(
        a.body["detail"].as_str().unwrap().contains("说明, 客户"),
        "{}",
        a.body
    );
    let (ct, body) = multipart(&[("dry_run", None, b"true")]);
    let a = app
        .send(
            app.http
                .post(app.url("/api/v1/imports/customers"))
                .bearer_auth(&manager)
                .header("content-type", ct)
                .body(body),
        )
        .await;
    assert_eq!(a.problem_fields(), ["file"]);
    let a = app
        .post_raw("/api/v1/imports/customers", &manager, "{}")
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.body);
    let a = app
        .upload_import(&manager, "a.csv", b"name,phone\nx,y\n", &[])
        .await;
    assert_eq!(a.problem_fields(), ["file"]);
    assert!(
        a.body["detail"].as_str().unwrap().contains("'vin'"),
        "{}",
        a.body
    );
}

#[tokio::test]
async fn an_upload_over_the_limit_is_refused_with_413() {
    let app = spawn_app_with(&[("SERVICELANE__IMPORTS__MAX_UPLOAD_BYTES", "1000")]).await;
    let (_, token) = app.staff("STAR", Role::DealerAdmin).await;
    let big = format!(
        "{}\n{}",
        HEADER.join(","),
        "王小明,13800000001\n".repeat(200)
    );
    let a = app
        .upload_import(&token, "big.csv", big.as_bytes(), &[])
        .await;
    assert_eq!(a.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", a.body);
    assert_eq!(a.content_type(), "application/problem+json");
    assert_eq!(a.problem_fields(), ["file"]);
    let a = app
        .upload_import(&token, "small.csv", sample_csv().as_bytes(), &[])
        .await;
    assert_eq!(a.status, StatusCode::ACCEPTED, "{}", a.body);
}

#[tokio::test]
async fn a_form_field_sent_twice_is_refused_naming_it() {
    let app = spawn_app_with(&[("SERVICELANE__IMPORTS__MAX_UPLOAD_BYTES", "1000")]).await;
    let (_, token) = app.staff("STAR", Role::DealerAdmin).await;
    // two files each under the limit, together over it: one form, one file
    let part = format!(
        "{}\n{}",
        HEADER.join(","),
        "王小明,13800000001\n".repeat(20)
    );
    let file = ("file", Some("a.csv"), part.as_bytes());
    let dry_run: (&str, Option<&str>, &[u8]) = ("dry_run", None, b"true");
    for (parts, twice) in [
        (vec![file, file], "file"),
        (vec![file, dry_run, dry_run], "dry_run"),
    ] {
        let (ct, body) = multipart(&parts);
        let a = app
            .send(
                app.http
                    .post(app.url("/api/v1/imports/customers"))
                    .bearer_auth(&token)
                    .header("content-type", ct)
                    .body(body),
            )
            .await;
        assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.body);
        assert_eq!(a.problem_fields(), [twice]);
    }
}

async fn download(app: &TestApp, token: &str, path: &str) -> Vec<u8> {
    let r = app
        .http
        .get(app.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{path}");
    r.bytes().await.unwrap().to_vec()
}

#[tokio::test]
async fn an_export_imported_again_changes_nothing() {
    let app = spawn_app().await;
    let (dealer, token) = app.staff("STAR", Role::ServiceManager).await;
    // more customers than one page of the export
    let mut csv = String::from(
        "name,phone,vin,plate,make,model,purchase_date,last_service_date,last_service_km\n",
    );
    for n in 0..1_203u32 {
        if n % 3 == 0 {
            csv += &format!("客户{n},139{n:08},,,,,,,\n");
        } else {
            csv += &format!(
                "客户{n},139{n:08},{},京B{n:05},大众,\"朗逸, 1.5L\",2021-06-0{},2024-01-15,{}\n",
                vin(n + 10_000),
                n % 9 + 1,
                n * 7
            );
        }
    }
    for file in [csv, sample_csv()] {
        let r = import_customers(
            &app.state.db,
            dealer,
            &table(&file),
            false,
            app.clock.now_utc(),
            |_, _| {},
        )
        .await
        .unwrap();
        assert!(r.rejected.is_empty(), "{:?}", r.rejected);
    }
    // a name Excel would run as a formula, a phone outside the mainland
    app.create_customer(&token, "=1+1", "+447700900123").await;
    // another dealer's customers are not exported
    let (other, _) = app.staff("MOON", Role::ServiceManager).await;
    import_customers(
        &app.state.db,
        other,
        &table(&sample_csv()),
        false,
        app.clock.now_utc(),
        |_, _| {},
    )
    .await
    .unwrap();
    let before = snapshot(&app, dealer).await;
    assert_eq!(before.0.len(), 1_203 + 4 + 1);

    let exported = download(&app, &token, "/api/v1/customers/export?format=csv").await;
    assert!(exported.starts_with(b"\xEF\xBB\xBF"), "a BOM for Excel");
    let text = String::from_utf8(exported.clone()).unwrap();
    assert!(
        text.lines()
            .next()
            .unwrap()
            .starts_with("\u{feff}姓名,手机,邮箱,生日,车架号")
    );
    // one row per vehicle, one per customer without one
    assert_eq!(text.lines().count(), 1 + before.1.len() + 401 + 2);
    assert!(text.contains("李娜,13800000002,,农历闰04-15,"), "{text}");
    assert!(
        text.contains("\n'=1+1,'+447700900123,"),
        "written as text for Excel"
    );

    let filtered = download(&app, &token, "/api/v1/customers/export?q=13800000001").await;
    assert_eq!(String::from_utf8(filtered).unwrap().lines().count(), 3);

    let xlsx = download(&app, &token, "/api/v1/customers/export?format=xlsx").await;
    assert!(xlsx.starts_with(b"PK"));

    for (name, file) in [("export.csv", exported), ("export.xlsx", xlsx)] {
        let a = app.upload_import(&token, name, &file, &[]).await;
        assert_eq!(a.status, StatusCode::ACCEPTED, "{}", a.body);
        let id = a.body["id"].as_str().unwrap().to_string();
        let seen = app.wait_for_import(&token, &id).await;
        let end = seen.last().unwrap();
        assert_eq!(end["state"], "done", "{end}");
        assert_eq!(end["counts"]["rejected"], 0, "{name}: {}", end["rejected"]);
        assert_eq!(end["counts"]["customers_created"], 0, "{name}");
        assert_eq!(end["counts"]["vehicles_created"], 0, "{name}");
        assert_eq!(
            end["counts"]["vehicles_existing"].as_u64().unwrap() as usize,
            before.1.len(),
            "{name}"
        );
        assert_eq!(
            snapshot(&app, dealer).await,
            before,
            "{name} changed something"
        );
    }

    let a = app.get("/api/v1/customers/export?format=pdf", &token).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(a.problem_fields(), ["format"]);
}
