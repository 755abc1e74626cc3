use servicelane::domain::Role;
use servicelane::services::import::import_customers;

use crate::helpers::*;

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
    let now = app.clock.now_utc();

    let dry = import_customers(&app.state.db, dealer, &csv, true, now, |_, _| {})
        .await
        .unwrap();
    assert_eq!((dry.customers_created, dry.vehicles_created), (1, 2));
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
    assert_eq!(report.customers_created, 1);
    assert_eq!(report.customers_existing, 1);
    assert_eq!(report.vehicles_created, 2);
    let rejected: Vec<(u64, &str)> = report
        .rejected
        .iter()
        .map(|r| (r.line, r.reason.as_str()))
        .collect();
    assert_eq!(
        rejected.iter().map(|r| r.0).collect::<Vec<_>>(),
        [3, 4, 6],
        "{rejected:?}"
    );
    assert!(rejected[0].1.contains("phone"), "{rejected:?}");
    assert!(rejected[1].1.contains("vin"), "{rejected:?}");
    assert!(rejected[2].1.contains("last_service_km"), "{rejected:?}");

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
    assert_eq!((again.customers_created, again.vehicles_created), (0, 0));
    assert_eq!(again.vehicles_existing, 2);
    assert_eq!(
        app.get("/api/v1/customers", &token).await.body["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}
