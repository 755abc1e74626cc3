//! Each dealer's settings per planned kind (`care_plan_kinds`), and the
//! texts a planned message carries: the built-in template of the kind, or
//! the dealer's own wording, rendered with the message's values.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set, TransactionSession,
    TransactionTrait,
};
use uuid::Uuid;

use crate::care::outbox::{
    AppointmentParams, FollowupParams, GreetingParams, Params, ReminderParams, RenewalParams,
};
use crate::care::render::Templates;
use crate::domain::FieldErrors;
use crate::domain::care_plan::{CareKind, KindSettings, PlanSettings};
use crate::domain::customer::Locale;
use crate::entities::care_plan_kind;
use crate::error::AppResult;

/// The dealer's settings: stored kinds, the defaults for the rest.
pub async fn load(db: &impl ConnectionTrait, dealer_id: Uuid) -> AppResult<PlanSettings> {
    let mut all = PlanSettings::default();
    let rows = care_plan_kind::Entity::find()
        .filter(care_plan_kind::Column::DealerId.eq(dealer_id))
        .all(db)
        .await?;
    for row in rows {
        let mut k: KindSettings =
            crate::services::from_stored(&row.settings, "care kind settings")?;
        k.enabled = row.enabled;
        *all.get_mut(row.kind) = k;
    }
    Ok(all)
}

fn row(
    dealer_id: Uuid,
    kind: CareKind,
    k: &KindSettings,
    now: DateTime<Utc>,
) -> care_plan_kind::ActiveModel {
    care_plan_kind::ActiveModel {
        dealer_id: Set(dealer_id),
        kind: Set(kind),
        enabled: Set(k.enabled),
        // plain data of strings, numbers and enums always serialises
        settings: Set(serde_json::to_value(k).unwrap_or_default()),
        updated_at: Set(now),
    }
}

/// Replaces every kind's settings (validated by the caller), in one transaction.
pub async fn put_all<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    dealer_id: Uuid,
    s: &PlanSettings,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let txn = db.begin().await?;
    for kind in CareKind::ALL {
        care_plan_kind::Entity::insert(row(dealer_id, *kind, s.get(*kind), now))
            .on_conflict(
                OnConflict::columns([
                    care_plan_kind::Column::DealerId,
                    care_plan_kind::Column::Kind,
                ])
                .update_columns([
                    care_plan_kind::Column::Enabled,
                    care_plan_kind::Column::Settings,
                    care_plan_kind::Column::UpdatedAt,
                ])
                .to_owned(),
            )
            .exec_without_returning(&txn)
            .await?;
    }
    txn.commit().await?;
    Ok(())
}

/// Pauses or resumes one kind: one upsert of its switch, so concurrent
/// changes of other kinds or of the rest of its settings are not undone.
pub async fn set_enabled(
    db: &impl ConnectionTrait,
    dealer_id: Uuid,
    kind: CareKind,
    enabled: bool,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let mut k = KindSettings::default_for(kind);
    k.enabled = enabled;
    care_plan_kind::Entity::insert(row(dealer_id, kind, &k, now))
        .on_conflict(
            OnConflict::columns([
                care_plan_kind::Column::DealerId,
                care_plan_kind::Column::Kind,
            ])
            .update_columns([
                care_plan_kind::Column::Enabled,
                care_plan_kind::Column::UpdatedAt,
            ])
            .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// Values of each kind that look like a real message: what the dealer's
/// wording is tried with before it is saved.
pub fn sample(kind: CareKind) -> Params {
    let dealer_name = "星辰4S店".to_string();
    let vehicle = "京A12345".to_string();
    match kind {
        CareKind::MaintenanceDue | CareKind::FirstService => Params::Reminder(ReminderParams {
            dealer_name,
            vehicle,
            due: "2027-03-01".into(),
            reason: "10000 km".into(),
        }),
        CareKind::AnnualInspection | CareKind::InsuranceRenewal => Params::Renewal(RenewalParams {
            dealer_name,
            vehicle,
            due: "2027-03-01".into(),
            item: "交强险".into(),
        }),
        CareKind::Birthday | CareKind::HolidayGreeting => Params::Greeting(GreetingParams {
            dealer_name,
            customer_name: "王先生".into(),
            occasion: "春节".into(),
        }),
        CareKind::AppointmentReminder => Params::Appointment(AppointmentParams {
            dealer_name,
            when: "2027-03-01 09:00".into(),
            vehicle,
            services: "小保养".into(),
        }),
        CareKind::PostRepairFollowup => Params::Followup(FollowupParams {
            dealer_name,
            vehicle,
            order_number: "RO202703010007".into(),
            survey_url: "https://dealer.example/s/token".into(),
        }),
    }
}

/// The title and text of a planned message in `locale`.
pub fn texts(
    templates: &Templates,
    kind: CareKind,
    k: &KindSettings,
    locale: Locale,
    params: &Params,
) -> anyhow::Result<(String, String)> {
    let ctx = params.to_json();
    let name = kind.message_kind().as_str();
    let title = templates.render(locale, name, "title.txt", &ctx)?;
    let own = k.wording.as_ref().and_then(|w| match locale {
        Locale::ZhCn => w.zh_cn.as_deref(),
        Locale::En => w.en.as_deref(),
    });
    let body = match own {
        Some(source) => {
            let text = templates.render_str(source, &ctx)?;
            // `{{ "\x00" }}` is a NUL: PostgreSQL refuses it in text, and the
            // planner's insert (the whole run) would fail with it
            if text
                .chars()
                .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
            {
                anyhow::bail!("the text holds a control character");
            }
            text
        }
        None => templates.render(locale, name, "sms.txt", &ctx)?,
    };
    Ok((title, body))
}

/// The longest text a dealer's wording may render to with the sample
/// values (an SMS of ten parts is about 670 characters).
pub const MAX_TEXT_CHARS: usize = 1000;

/// The longest wording a dealer writes (the template's source, as the contract says).
pub const MAX_SOURCE_CHARS: usize = 500;

/// Checks the settings, and that the dealer's wording renders with the
/// kind's values (a misspelt `{{ vehicel }}` is refused here, not found
/// when the first message is planned).
pub fn validate(templates: &Templates, s: &PlanSettings) -> Result<(), FieldErrors> {
    let mut e = s.validate().err().unwrap_or_default();
    for kind in CareKind::ALL {
        let k = s.get(*kind);
        let Some(w) = &k.wording else { continue };
        for (name, locale, text) in [("zh-CN", Locale::ZhCn, &w.zh_cn), ("en", Locale::En, &w.en)] {
            let Some(source) = text else {
                continue;
            };
            if source.chars().count() > MAX_SOURCE_CHARS {
                e.add(
                    format!("kinds.{kind}.wording.{name}"),
                    format!("at most {MAX_SOURCE_CHARS} characters"),
                );
                continue;
            }
            match texts(templates, *kind, k, locale, &sample(*kind)) {
                Err(err) => e.add(
                    format!("kinds.{kind}.wording.{name}"),
                    format!("does not render with the {kind} values: {err}"),
                ),
                Ok((_, body)) if body.chars().count() > MAX_TEXT_CHARS => e.add(
                    format!("kinds.{kind}.wording.{name}"),
                    format!("renders to more than {MAX_TEXT_CHARS} characters"),
                ),
                Ok(_) => {}
            }
        }
    }
    e.into_result()
}
