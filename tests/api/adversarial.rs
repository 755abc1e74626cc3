//! Defects found by an adversarial run from the outside (bad input, races,
//! crashes), each reproduced here on the database the suite runs on.

use reqwest::StatusCode;

use crate::helpers::*;
use servicelane::domain::Role;

#[tokio::test]
async fn a_nul_byte_in_a_rejected_row_is_reported_and_does_not_fail_the_import() {
    let app = spawn_app().await;
    let (_, token) = app.staff("STAR", Role::ServiceManager).await;
    // PostgreSQL's json cannot hold U+0000: the rejected row's values (and a
    // reason quoting the bad date) used to fail the whole job there
    let csv = "name,phone,vin,plate,make,model,purchase_date,notes\n\
               Zh\0ang,13900000001,,,,,,\n\
               Li,13900000002,,,,,20\x0024-01-01,a\0b\n\
               Wang,13900000003,,,,,,\n";
    let a = app
        .upload_import(&token, "nul.csv", csv.as_bytes(), &[])
        .await;
    assert_eq!(a.status, StatusCode::ACCEPTED, "{}", a.body);
    let id = a.body["id"].as_str().unwrap().to_string();
    let seen = app.wait_for_import(&token, &id).await;
    let end = seen.last().unwrap();
    assert_eq!(end["state"], "done", "{end}");
    assert_eq!(end["counts"]["customers_created"], 1, "{end}");
    assert_eq!(end["counts"]["rejected"], 2, "{end}");
    let report = app.get(&format!("/api/v1/imports/{id}"), &token).await;
    assert_eq!(report.status, StatusCode::OK, "{}", report.body);
    let rows = report.body["rejected"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "{}", report.body);
    assert_eq!(rows[0]["values"][0]["value"], "Zh\u{FFFD}ang");
    let csv = app
        .send(
            app.http
                .get(app.url(&format!("/api/v1/imports/{id}/report.csv")))
                .bearer_auth(&token),
        )
        .await;
    assert_eq!(csv.status, StatusCode::OK);
}

#[tokio::test]
async fn a_workbook_with_one_stray_cell_far_away_is_refused_not_allocated() {
    use rust_xlsxwriter::Workbook;
    let app = spawn_app().await;
    let (_, token) = app.staff("STAR", Role::DealerAdmin).await;
    // a 6 KB file: calamine used to allocate the grid from A1 to XFD1048576
    // (512 GiB) and the allocation failure aborted the whole server
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    for (c, h) in ["name", "phone", "vin", "plate", "make", "model"]
        .iter()
        .enumerate()
    {
        sheet.write_string(0, c as u16, *h).unwrap();
    }
    sheet.write_string(1, 0, "王小明").unwrap();
    sheet.write_string(1, 1, "13900000001").unwrap();
    sheet.write_number(1_048_575, 16_383, 1.0).unwrap();
    let file = book.save_to_buffer().unwrap();
    let a = app.upload_import(&token, "stray.xlsx", &file, &[]).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.body);
    assert_eq!(a.problem_fields(), ["file"]);
    assert!(
        a.body["detail"]
            .as_str()
            .unwrap()
            .contains("spans more than"),
        "{}",
        a.body
    );
    // the server is still there
    let me = app.get("/api/v1/me", &token).await;
    assert_eq!(me.status, StatusCode::OK);
}

#[tokio::test]
async fn a_row_another_import_writes_at_the_same_moment_counts_as_existing() {
    use sea_orm::TransactionTrait;
    use servicelane::services::import::{ReadOptions, import_rows, read_file};
    let app = spawn_app().await;
    if !app.database_url.starts_with("postgres") {
        // SQLite has one writer: two imports cannot interleave a look-up and an insert
        return;
    }
    let dealer = app.dealer("STAR").await;
    let csv = "name,phone,vin,plate,make,model\n王小明,13900000001,,,,\n";
    let table = read_file(csv.as_bytes(), &ReadOptions::default()).unwrap();
    let now = app.clock.now_utc();
    // two instances' jobs at the same row: the first has inserted it, not committed
    let first = app.state.db.begin().await.unwrap();
    let a = import_rows(&first, dealer, &table, 0..1, now, None)
        .await
        .unwrap();
    assert_eq!(a.counts.customers_created, 1);
    let (db, t) = (app.state.db.clone(), table.clone());
    let second = tokio::spawn(async move {
        let txn = db.begin().await.unwrap();
        let b = import_rows(&txn, dealer, &t, 0..1, now, None)
            .await
            .unwrap();
        txn.commit().await.unwrap();
        b
    });
    // the second looked the phone up before the first committed, and waits on its insert
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    first.commit().await.unwrap();
    let b = second.await.unwrap();
    assert!(
        b.rejected.is_empty(),
        "rejected as a database error: {:?}",
        b.rejected
    );
    assert_eq!(b.counts.customers_existing, 1);
}

#[tokio::test]
async fn a_burst_of_code_requests_for_one_phone_stores_and_sends_one_code() {
    use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
    use servicelane::entities::otp_code;
    let app = spawn_app().await;
    let (_, token) = app.staff("STAR", Role::ServiceAdvisor).await;
    app.create_customer(&token, "王小明", "13900000001").await;
    // the one-a-minute rule was read before anything was written: a burst
    // passed it together and sent up to the daily cap at once
    let body = serde_json::json!({"dealer_code": "STAR", "phone": "13900000001"});
    let burst = (0..10).map(|_| app.post("/api/v1/auth/otp", None, &body));
    for a in futures_util::future::join_all(burst).await {
        assert_eq!(a.status, StatusCode::ACCEPTED, "{}", a.body);
    }
    let codes = otp_code::Entity::find()
        .filter(otp_code::Column::Phone.eq("+8613900000001"))
        .count(&app.state.db)
        .await
        .unwrap();
    assert_eq!(codes, 1);
}

#[tokio::test]
async fn a_small_file_cannot_grow_into_a_huge_report() {
    let app = spawn_app().await;
    let (_, token) = app.staff("STAR", Role::DealerAdmin).await;
    // 20 KB: a header of 20,000 empty columns and 200 short bad rows used to
    // make a 100 MB report (every row padded to the header) and 2.4 GB of memory
    let wide = format!(
        "name,phone,vin,plate,make,model{}\n{}",
        ",".repeat(20_000),
        "x,1\n".repeat(200)
    );
    let a = app
        .upload_import(&token, "wide.csv", wide.as_bytes(), &[])
        .await;
    assert_eq!(a.problem_fields(), ["file"], "{}", a.body);
    assert!(
        a.body["detail"].as_str().unwrap().contains("at most 256"),
        "{}",
        a.body
    );

    // many bad rows: all counted, the first 5,000 kept for the report
    let bad = format!(
        "name,phone,vin,plate,make,model\n{}",
        "x,1,,,,\n".repeat(5_100)
    );
    let a = app
        .upload_import(&token, "bad.csv", bad.as_bytes(), &[])
        .await;
    assert_eq!(a.status, StatusCode::ACCEPTED, "{}", a.body);
    let id = a.body["id"].as_str().unwrap().to_string();
    let seen = app.wait_for_import(&token, &id).await;
    let end = seen.last().unwrap();
    assert_eq!(end["state"], "done", "{end}");
    assert_eq!(end["counts"]["rejected"], 5_100);
    assert_eq!(end["rejected"].as_array().unwrap().len(), 5_000);
}
