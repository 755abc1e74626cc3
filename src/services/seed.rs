//! Demo data for the development profile: dealer DEMO, one user per role and
//! a few dozen customers with valid VINs and plates. Never run in production.

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use sea_orm::{DatabaseConnection, EntityTrait, PaginatorTrait, TransactionTrait};
use uuid::Uuid;

use crate::auth::password::Passwords;
use crate::domain::customer::{Birthday, Calendar, Channel, Consent, Locale, Purpose};
use crate::domain::{Role, Vin};
use crate::entities::dealer;
use crate::services::{customers, dealers, menu, vehicles};

pub const DEMO_PASSWORD: &str = "servicelane";

pub const DEMO_USERS: &[(&str, Role)] = &[
    ("manager", Role::ServiceManager),
    ("supervisor", Role::ServiceSupervisor),
    ("advisor", Role::ServiceAdvisor),
    ("foreman", Role::WorkshopForeman),
    ("technician", Role::Technician),
    ("qc", Role::QcInspector),
    ("warranty", Role::WarrantyClerk),
    ("care", Role::CustomerCare),
    ("parts", Role::Parts),
    ("cashier", Role::Cashier),
    ("tool_keeper", Role::ToolKeeper),
    ("admin", Role::DealerAdmin),
    ("brand", Role::NetworkAdmin),
];

type MenuRow = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    Option<i32>,
    Option<i32>,
    bool,
    &'static [(&'static str, &'static str, &'static str)],
);

/// The demo maintenance menu (保养菜单).
const DEMO_MENU: &[MenuRow] = &[
    (
        "FIRST",
        "首次保养",
        "First service",
        "1",
        "0.00",
        Some(5000),
        Some(6),
        true,
        &[
            ("OF-1", "机油滤清器", "1"),
            ("OIL-5W30", "机油 5W-30 (L)", "4"),
        ],
    ),
    (
        "MAINT-10K",
        "小保养",
        "Minor service",
        "1",
        "480.00",
        Some(10000),
        Some(12),
        false,
        &[
            ("OF-1", "机油滤清器", "1"),
            ("OIL-5W30", "机油 5W-30 (L)", "4"),
        ],
    ),
    (
        "MAINT-40K",
        "大保养",
        "Major service",
        "3",
        "1680.00",
        Some(40000),
        Some(48),
        false,
        &[
            ("OF-1", "机油滤清器", "1"),
            ("OIL-5W30", "机油 5W-30 (L)", "4"),
            ("AF-1", "空气滤清器", "1"),
            ("CF-1", "空调滤清器", "1"),
            ("SP-1", "火花塞", "4"),
        ],
    ),
    (
        "BRAKE-PADS",
        "更换前刹车片",
        "Front brake pads",
        "1.5",
        "860.00",
        None,
        None,
        false,
        &[("BP-F", "前刹车片", "1")],
    ),
];

const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
];
const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟",
    "涛", "明", "超", "秀兰", "霞",
];
/// (make, model, WMI + VDS start used to build a VIN)
const CARS: &[(&str, &str, &str)] = &[
    ("大众", "朗逸", "LSVAU2180"),
    ("丰田", "凯美瑞", "LVGBE40K0"),
    ("本田", "雅阁", "LHGCV1658"),
    ("比亚迪", "汉 EV", "LGXCE4CB0"),
    ("别克", "英朗", "LSGKB54H0"),
    ("日产", "轩逸", "LGBH52E00"),
    ("吉利", "星越L", "L6T7944Z0"),
];

/// Seeds on an empty database; does nothing when any dealer exists.
pub async fn seed_demo(
    db: &DatabaseConnection,
    passwords: &Passwords,
    now: DateTime<Utc>,
) -> anyhow::Result<bool> {
    if dealer::Entity::find().count(db).await? > 0 {
        return Ok(false);
    }
    let txn = db.begin().await?;
    let d =
        dealers::create_dealer(&txn, "DEMO", "星辰汽车4S店（演示）", "Asia/Shanghai", now).await?;
    for (username, role) in DEMO_USERS {
        dealers::create_user(
            &txn,
            passwords,
            d.id,
            username,
            &[*role],
            DEMO_PASSWORD.into(),
            now,
        )
        .await?;
    }
    let seeder = crate::auth::Actor {
        id: Uuid::nil(),
        dealer_id: d.id,
        roles: vec![Role::DealerAdmin],
        customer_id: None,
    };
    let mut rng = 20261128u64;
    let mut next = move |n: usize| {
        rng = rng
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((rng >> 33) as usize) % n
    };
    for i in 0..36u32 {
        let name = format!(
            "{}{}",
            SURNAMES[next(SURNAMES.len())],
            GIVEN[next(GIVEN.len())]
        );
        let birthday = match i % 3 {
            0 => Some(Birthday {
                calendar: Calendar::Solar,
                month: (1 + next(12)) as u8,
                day: (1 + next(28)) as u8,
                leap: false,
                year: Some(1965 + next(35) as i32),
            }),
            1 => Some(Birthday {
                calendar: Calendar::Lunar,
                month: (1 + next(12)) as u8,
                day: (1 + next(29)) as u8,
                leap: false,
                year: None,
            }),
            _ => None,
        };
        let c = customers::create(
            &txn,
            &seeder,
            customers::NewCustomer {
                name,
                phone: format!("1380000{:04}", i + 1),
                email: (i % 4 == 0).then(|| format!("demo{}@example.com", i + 1)),
                preferred_channel: Some(
                    [Channel::Sms, Channel::App, Channel::Email][i as usize % 3],
                ),
                locale: Some(if i % 10 == 9 {
                    Locale::En
                } else {
                    Locale::ZhCn
                }),
                birthday,
                consents: vec![Consent {
                    channel: Channel::Sms,
                    purpose: Purpose::Marketing,
                    granted: i % 2 == 0,
                    source: crate::domain::customer::ConsentSource::PaperForm,
                    at: None,
                }],
                tags: if i % 7 == 0 {
                    vec!["VIP".into()]
                } else {
                    vec![]
                },
                notes: None,
            },
            now,
        )
        .await?;
        let (make, model, prefix) = CARS[next(CARS.len())];
        let year = 2016 + next(10) as i32;
        let year_code = "GHJKLMNPRS".as_bytes()[(year - 2016) as usize] as char;
        let vin = Vin::with_check_digit(&format!(
            "{prefix}{year_code}{}{:06}",
            "ABCDE".as_bytes()[next(5)] as char,
            100_000 + i * 7919
        ))
        .ok_or_else(|| anyhow::anyhow!("demo VIN"))?;
        let new_energy = make == "比亚迪";
        let plate = if new_energy {
            format!("京AD{:05}", 10_000 + i * 37)
        } else {
            format!("京{}{:05}", ["A", "B", "N", "Q"][next(4)], 10_000 + i * 211)
        };
        let purchase = NaiveDate::from_ymd_opt(year, 1 + next(12) as u32, 1 + next(28) as u32)
            .unwrap_or_default();
        let last_service = now.date_naive() - Duration::days(30 + next(300) as i64);
        let km = ((now.date_naive() - purchase).num_days().max(30) * (25 + next(40) as i64))
            .min(400_000);
        vehicles::create(
            &txn,
            &seeder,
            vehicles::NewVehicle {
                customer_id: c.id,
                vin: vin.to_string(),
                plate: Some(plate),
                make: make.into(),
                model: model.into(),
                model_year: Some(year),
                purchase_date: Some(purchase),
                first_registration_date: Some(purchase + Duration::days(7)),
                inspection_due: purchase.with_year(now.year() + 1),
                compulsory_insurance_expiry: purchase
                    .with_year(now.year() + (purchase.ordinal() < now.ordinal()) as i32),
                commercial_insurance_expiry: purchase
                    .with_year(now.year() + (purchase.ordinal() < now.ordinal()) as i32),
                last_service_date: Some(last_service),
                last_service_km: Some(km),
            },
            now,
        )
        .await?;
    }
    for (code, zh, en, hours, price, km, months, first, parts) in DEMO_MENU {
        let input: menu::MenuInput = serde_json::from_value(serde_json::json!({
            "name_zh": zh, "name_en": en, "labour_hours": hours, "price_estimate": price,
            "interval_km": km, "interval_months": months, "first_service": first,
            "parts": parts.iter().map(|(n, name, q)| serde_json::json!({"part_number": n, "name": name, "quantity": q})).collect::<Vec<_>>(),
        }))?;
        menu::put(&txn, &seeder, code, input, now).await?;
    }
    txn.commit().await?;
    Ok(true)
}
