//! The customer archive: create, read, search, update.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set, TryIntoModel,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::Actor;
use crate::domain::customer::{
    Birthday, Channel, Consent, ConsentSource, Locale, MAX_NAME, MAX_NOTES, Purpose,
    parse_consents, parse_email, parse_tags,
};
use crate::domain::privacy::Sight;
use crate::domain::validation::{self, nullable};
use crate::domain::{FieldErrors, Phone, Plate, Role, Vin};
use crate::entities::{customer, vehicle};
use crate::error::{AppError, AppResult};
use crate::services::{Version, decode_cursor, from_stored, page_limit, to_stored};

/// Who may create and change customer records.
pub const WRITERS: &[Role] = &[
    Role::ServiceManager,
    Role::ServiceSupervisor,
    Role::ServiceAdvisor,
    Role::CustomerCare,
    Role::DealerAdmin,
];

/// Who may read them: all staff but the tool keeper, the brand, and the customer (own record).
pub const READERS: &[Role] = &[
    Role::ServiceManager,
    Role::ServiceSupervisor,
    Role::ServiceAdvisor,
    Role::WorkshopForeman,
    Role::Technician,
    Role::QcInspector,
    Role::WarrantyClerk,
    Role::CustomerCare,
    Role::Parts,
    Role::Cashier,
    Role::DealerAdmin,
    Role::NetworkAdmin,
    Role::Customer,
];

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCustomer {
    #[schema(example = "王小明")]
    pub name: String,
    /// Mainland numbers with or without +86; stored in E.164.
    #[schema(example = "13800000001")]
    pub phone: String,
    pub email: Option<String>,
    /// Default `sms`.
    pub preferred_channel: Option<Channel>,
    /// Default `zh-CN`.
    pub locale: Option<Locale>,
    pub birthday: Option<Birthday>,
    #[serde(default)]
    pub consents: Vec<Consent>,
    #[serde(default)]
    pub tags: Vec<String>,
    pub notes: Option<String>,
}

/// A partial update: absent fields stay, `null` clears an optional one.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerPatch {
    pub name: Option<String>,
    pub phone: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, nullable)]
    pub email: Option<Option<String>>,
    pub preferred_channel: Option<Channel>,
    pub locale: Option<Locale>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<Birthday>, nullable)]
    pub birthday: Option<Option<Birthday>>,
    /// Replaces the statements for the (channel, purpose) pairs it names.
    pub consents: Option<Vec<Consent>>,
    pub tags: Option<Vec<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, nullable)]
    pub notes: Option<Option<String>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Customer {
    pub id: Uuid,
    pub dealer_id: Uuid,
    pub name: String,
    /// E.164
    pub phone: String,
    pub email: Option<String>,
    pub preferred_channel: Channel,
    pub locale: Locale,
    pub birthday: Option<Birthday>,
    pub consents: Vec<Consent>,
    pub tags: Vec<String>,
    pub notes: Option<String>,
    /// Whether name, phone and email are masked for your role (birthday and
    /// notes then left out): `POST /customers/{id}/reveal` shows what your
    /// role may see, with a reason, audited.
    pub masked: bool,
    /// Also sent as the ETag; send it back in If-Match to update.
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Customer {
    /// The record as `sight` shows it.
    pub fn seen_by(self, sight: Sight) -> Customer {
        if sight == Sight::Full {
            return self;
        }
        Customer {
            name: sight.name(&self.name),
            phone: sight.phone(&self.phone),
            email: sight.email(self.email.as_deref()),
            birthday: sight.whole(self.birthday),
            notes: sight.whole(self.notes),
            masked: true,
            ..self
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerPage {
    pub items: Vec<Customer>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// The stored birthday, when all its parts are there.
pub fn birthday_of(m: &customer::Model) -> Option<Birthday> {
    match (m.birthday_calendar, m.birthday_month, m.birthday_day) {
        (Some(calendar), Some(month), Some(day)) => Some(Birthday {
            calendar,
            month: month as u8,
            day: day as u8,
            leap: m.birthday_leap.unwrap_or(false),
            year: m.birthday_year,
        }),
        _ => None,
    }
}

impl TryFrom<customer::Model> for Customer {
    type Error = AppError;

    fn try_from(m: customer::Model) -> Result<Self, AppError> {
        let birthday = birthday_of(&m);
        Ok(Customer {
            id: m.id,
            dealer_id: m.dealer_id,
            name: m.name,
            phone: m.phone,
            email: m.email,
            preferred_channel: m.preferred_channel,
            locale: m.locale,
            birthday,
            consents: from_stored(&m.consents, "customer consents")?,
            tags: from_stored(&m.tags, "customer tags")?,
            notes: m.notes,
            masked: false,
            version: m.version,
            created_at: m.created_at,
            updated_at: m.updated_at,
        })
    }
}

fn set_birthday(am: &mut customer::ActiveModel, b: Option<Birthday>) {
    am.birthday_calendar = Set(b.map(|b| b.calendar));
    am.birthday_month = Set(b.map(|b| b.month.into()));
    am.birthday_day = Set(b.map(|b| b.day.into()));
    am.birthday_leap = Set(b.map(|b| b.leap));
    am.birthday_year = Set(b.and_then(|b| b.year));
}

/// Validates a new customer into an active model; every problem is reported at once.
pub fn validate_new(
    input: &NewCustomer,
    dealer_id: Uuid,
    now: DateTime<Utc>,
) -> Result<customer::ActiveModel, FieldErrors> {
    let mut e = FieldErrors::new();
    let name = e.check("name", validation::text(&input.name, MAX_NAME));
    let phone = e.check("phone", Phone::parse(&input.phone));
    let email = e.check("email", input.email.as_deref().map(parse_email).transpose());
    if let Some(b) = &input.birthday {
        b.validate("birthday", now.date_naive(), &mut e);
    }
    let consents = parse_consents(&input.consents, now, &mut e);
    let tags = parse_tags(&input.tags, &mut e);
    let notes = e.check(
        "notes",
        validation::optional_multiline(input.notes.as_deref(), MAX_NOTES),
    );
    e.clone().into_result()?;
    let (Some(name), Some(phone), Some(email), Some(notes)) = (name, phone, email, notes) else {
        return Err(e);
    };
    let mut am = customer::ActiveModel {
        id: Set(Uuid::now_v7()),
        dealer_id: Set(dealer_id),
        name: Set(name),
        phone: Set(phone.as_str().to_string()),
        email: Set(email),
        preferred_channel: Set(input.preferred_channel.unwrap_or(Channel::Sms)),
        locale: Set(input.locale.unwrap_or(Locale::ZhCn)),
        consents: Set(serde_json::to_value(consents).unwrap_or_default()),
        tags: Set(serde_json::to_value(tags).unwrap_or_default()),
        notes: Set(notes),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    set_birthday(&mut am, input.birthday);
    Ok(am)
}

pub async fn create(
    db: &impl ConnectionTrait,
    actor: &Actor,
    input: NewCustomer,
    now: DateTime<Utc>,
) -> AppResult<Customer> {
    actor.require(WRITERS)?;
    let am = validate_new(&input, actor.dealer_id, now)?;
    let m = am.insert(db).await.map_err(|e| phone_clash(e.into()))?;
    m.try_into()
}

fn phone_clash(e: AppError) -> AppError {
    match e {
        AppError::Conflict(_) => {
            AppError::Conflict("a customer with this phone number already exists".into())
        }
        other => other,
    }
}

/// Loads a customer the actor may see, or 404.
pub async fn load(
    db: &impl ConnectionTrait,
    actor: &Actor,
    id: Uuid,
) -> AppResult<customer::Model> {
    actor.require(READERS)?;
    let m = customer::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    actor.can_see_customer(m.dealer_id, m.id)?;
    Ok(m)
}

pub async fn get(db: &impl ConnectionTrait, actor: &Actor, id: Uuid) -> AppResult<Customer> {
    Ok(Customer::try_from(load(db, actor, id).await?)?.seen_by(actor.sight()))
}

/// Customers may change their own contact details and consents, not the
/// dealer's tags and notes.
pub async fn update(
    db: &impl ConnectionTrait,
    actor: &Actor,
    id: Uuid,
    expected_version: Version,
    patch: CustomerPatch,
    now: DateTime<Utc>,
) -> AppResult<Customer> {
    let current = load(db, actor, id).await?;
    if actor.is_customer() {
        if patch.tags.is_some() || patch.notes.is_some() || patch.phone.is_some() {
            return Err(AppError::Forbidden(
                "customers may not change phone, tags or notes",
            ));
        }
    } else {
        actor.require(WRITERS)?;
        actor.can_write_dealer(current.dealer_id)?;
    }
    if current.version != expected_version.0 {
        return Err(AppError::PreconditionFailed);
    }
    let mut e = FieldErrors::new();
    let mut am: customer::ActiveModel = current.clone().into();
    if let Some(n) = &patch.name
        && let Some(n) = e.check("name", validation::text(n, MAX_NAME))
    {
        am.name = Set(n);
    }
    if let Some(p) = &patch.phone
        && let Some(p) = e.check("phone", Phone::parse(p))
    {
        am.phone = Set(p.as_str().to_string());
    }
    if let Some(email) = &patch.email
        && let Some(v) = e.check("email", email.as_deref().map(parse_email).transpose())
    {
        am.email = Set(v);
    }
    if let Some(c) = patch.preferred_channel {
        am.preferred_channel = Set(c);
    }
    if let Some(l) = patch.locale {
        am.locale = Set(l);
    }
    if let Some(b) = patch.birthday {
        if let Some(b) = &b {
            b.validate("birthday", now.date_naive(), &mut e);
        }
        set_birthday(&mut am, b);
    }
    if let Some(c) = &patch.consents {
        let mut all: Vec<Consent> = from_stored(&current.consents, "customer consents")?;
        // earlier statements keep their time; the new ones are checked and stamped
        let fresh = parse_consents(c, now, &mut e);
        all.retain(|o| {
            !fresh
                .iter()
                .any(|n| n.channel == o.channel && n.purpose == o.purpose)
        });
        all.extend(fresh);
        am.consents = Set(to_stored(&all, "consents")?);
    }
    if let Some(t) = &patch.tags {
        am.tags = Set(to_stored(&parse_tags(t, &mut e), "tags")?);
    }
    if let Some(n) = &patch.notes
        && let Some(n) = e.check(
            "notes",
            validation::optional_multiline(n.as_deref(), MAX_NOTES),
        )
    {
        am.notes = Set(n);
    }
    e.into_result()?;
    am.version = Set(current.version + 1);
    am.updated_at = Set(now);
    // the version in the WHERE makes a concurrent edit lose cleanly (412), never silently
    let res = customer::Entity::update_many()
        .set(am.clone())
        .filter(customer::Column::Id.eq(id))
        .filter(customer::Column::Version.eq(expected_version.0))
        .exec(db)
        .await
        .map_err(|e| phone_clash(e.into()))?;
    if res.rows_affected == 0 {
        return Err(AppError::PreconditionFailed);
    }
    // the row is now exactly what was written: no need to read it back
    am.try_into_model()?.try_into()
}

/// Records, on the customer's own word outside the app (an email's
/// unsubscribe link, an SMS reply), that they want no more messages for
/// `purposes` on `channel`, in one write. The version is raised like any
/// edit, so a tablet holding the record learns of it instead of writing the
/// old consent back. Answers whether anything changed (already refused:
/// nothing to do). No actor: the caller has proven who the customer is (a
/// signed link, the phone itself).
pub async fn withdraw_consent(
    db: &impl ConnectionTrait,
    customer_id: Uuid,
    channel: Channel,
    purposes: &[Purpose],
    source: ConsentSource,
    now: DateTime<Utc>,
) -> AppResult<bool> {
    // a concurrent edit moves the version: read again and apply on top of it
    for _ in 0..5 {
        let current = customer::Entity::find_by_id(customer_id)
            .one(db)
            .await?
            .ok_or(AppError::NotFound)?;
        let mut all: Vec<Consent> = from_stored(&current.consents, "customer consents")?;
        // an explicit refusal is kept even where the default already refuses
        // (marketing): it is the customer's word, and a later import cannot
        // read silence as room for a yes
        let refused = |all: &[Consent], p: Purpose| {
            all.iter()
                .any(|c| c.channel == channel && c.purpose == p && !c.granted)
        };
        let fresh: Vec<Purpose> = purposes
            .iter()
            .copied()
            .filter(|p| !refused(&all, *p))
            .collect();
        if fresh.is_empty() {
            return Ok(false);
        }
        all.retain(|c| !(c.channel == channel && fresh.contains(&c.purpose)));
        all.extend(fresh.iter().map(|&purpose| Consent {
            channel,
            purpose,
            granted: false,
            source,
            at: Some(now),
        }));
        let res = customer::Entity::update_many()
            .col_expr(
                customer::Column::Consents,
                Expr::value(to_stored(&all, "consents")?),
            )
            .col_expr(customer::Column::Version, Expr::value(current.version + 1))
            .col_expr(customer::Column::UpdatedAt, Expr::value(now))
            .filter(customer::Column::Id.eq(customer_id))
            .filter(customer::Column::Version.eq(current.version))
            .exec(db)
            .await?;
        if res.rows_affected == 1 {
            return Ok(true);
        }
    }
    Err(AppError::ChangedMeanwhile(
        "the customer's record kept changing; try again".into(),
    ))
}

/// What a search string could be. A customer is found by any of them.
#[derive(Debug, Default, PartialEq)]
pub struct SearchTerms {
    pub phone: Option<String>,
    pub plate: Option<String>,
    pub vin: Option<String>,
    /// A VIN's last 6+ characters, as read off the windscreen.
    pub vin_tail: Option<String>,
    pub name_prefix: Option<String>,
}

impl SearchTerms {
    pub fn parse(q: &str) -> SearchTerms {
        let q = q.trim();
        let mut t = SearchTerms::default();
        if q.is_empty() {
            return t;
        }
        if let Ok(p) = Phone::parse(q) {
            t.phone = Some(p.as_str().to_string());
            return t;
        }
        if let Ok(p) = Plate::parse(q) {
            t.plate = Some(p.as_str().to_string());
            return t;
        }
        if let Ok(v) = Vin::parse(q) {
            t.vin = Some(v.as_str().to_string());
            return t;
        }
        let upper = q.to_ascii_uppercase();
        if (6..17).contains(&upper.len())
            && upper.chars().all(|c| c.is_ascii_alphanumeric())
            && upper.chars().any(|c| c.is_ascii_digit())
        {
            t.vin_tail = Some(upper);
            return t;
        }
        t.name_prefix = Some(q.chars().take(MAX_NAME).collect());
        t
    }
}

/// Lists a dealer's customers, newest last, filtered by `q`.
pub async fn list(
    db: &impl ConnectionTrait,
    actor: &Actor,
    q: Option<&str>,
    cursor: Option<&str>,
    limit: Option<u64>,
) -> AppResult<CustomerPage> {
    actor.require(READERS)?;
    let limit = page_limit(limit)?;
    let mut query = filtered(actor, q);
    if let Some(c) = cursor {
        query = query.filter(customer::Column::Id.gt(decode_cursor(c)?));
    }
    let mut rows = query
        .order_by_asc(customer::Column::Id)
        .limit(limit + 1)
        .all(db)
        .await?;
    let next_cursor = crate::services::next_page(&mut rows, limit, |r| r.id);
    Ok(CustomerPage {
        items: rows
            .into_iter()
            .map(|r| Customer::try_from(r).map(|c| c.seen_by(actor.sight())))
            .collect::<AppResult<_>>()?,
        next_cursor,
    })
}

/// The customers the actor may see that match `q` (the list's and the
/// export's filter): a name prefix, a phone, a plate, a VIN or its tail.
pub fn filtered(actor: &Actor, q: Option<&str>) -> sea_orm::Select<customer::Entity> {
    let mut query = customer::Entity::find();
    if let Some(own) = actor.customer_id {
        query = query.filter(customer::Column::Id.eq(own));
    } else if !actor.has(Role::NetworkAdmin) {
        query = query.filter(customer::Column::DealerId.eq(actor.dealer_id));
    }
    if let Some(q) = q {
        let t = SearchTerms::parse(q);
        let mut any = Condition::any();
        if let Some(p) = &t.phone {
            any = any.add(customer::Column::Phone.eq(p.as_str()));
        }
        let vehicle_match = match (&t.plate, &t.vin, &t.vin_tail) {
            (Some(p), _, _) => Some(vehicle::Column::Plate.eq(p.as_str())),
            (_, Some(v), _) => Some(vehicle::Column::Vin.eq(v.as_str())),
            (_, _, Some(tail)) => Some(vehicle::Column::Vin.like(format!("%{tail}"))),
            _ => None,
        };
        if let Some(cond) = vehicle_match {
            let mut sub = Query::select();
            sub.column(vehicle::Column::CustomerId)
                .from(vehicle::Entity)
                .and_where(cond);
            if !actor.has(Role::NetworkAdmin) {
                sub.and_where(vehicle::Column::DealerId.eq(actor.dealer_id));
            }
            any = any.add(customer::Column::Id.in_subquery(sub.to_owned()));
        }
        if let Some(n) = &t.name_prefix {
            any = any.add(customer::Column::Name.like(format!("{}%", escape_like(n))));
        }
        if t == SearchTerms::default() {
            any = any.add(Expr::value(true));
        }
        query = query.filter(any);
    }
    query
}

fn escape_like(s: &str) -> String {
    s.replace(['%', '_'], "")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_search_string_is_read_as_what_it_looks_like() {
        assert_eq!(
            SearchTerms::parse("138 0000 0001").phone.as_deref(),
            Some("+8613800000001")
        );
        assert_eq!(
            SearchTerms::parse("+8613800000001").phone.as_deref(),
            Some("+8613800000001")
        );
        assert_eq!(
            SearchTerms::parse("京a12345").plate.as_deref(),
            Some("京A12345")
        );
        assert_eq!(
            SearchTerms::parse("1m8gdm9axkp042788").vin.as_deref(),
            Some("1M8GDM9AXKP042788")
        );
        assert_eq!(
            SearchTerms::parse("kp042788").vin_tail.as_deref(),
            Some("KP042788")
        );
        assert_eq!(SearchTerms::parse("王").name_prefix.as_deref(), Some("王"));
    }
}
